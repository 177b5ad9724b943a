/* cxx_link.cpp — a C++ program that calls the library through athanor.h; it links only if the
 * headers declare the API extern "C" (ATH_BEGIN_DECL), as C++ hosts and SWIG wrappers need. */
#include <athanor/athanor.h>

#include <cstdio>

int main()
{
	int major = -1, minor = -1, patch = -1;
	ath_version(&major, &minor, &patch);
	ath_buf buf = ATH_BUF_INIT;
	ath_buf_dispose(&buf);
	const ath_error *err = ath_error_last();
	std::printf("athanor %s (%d.%d.%d), last error class %s\n", ath_version_string(), major, minor,
		    patch, ath_error_class_name(err->klass));
	return major == ATH_VERSION_MAJOR && minor == ATH_VERSION_MINOR ? 0 : 1;
}
