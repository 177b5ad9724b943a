# Warnings every target of the project builds with; the build is kept free of them.
set(ATHANOR_WARNINGS -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wno-unused-parameter -Wformat=2 -Wvla)
function(athanor_warnings target)
  target_compile_options(${target} PRIVATE ${ATHANOR_WARNINGS})
endfunction()
