# AthanorCoverage.cmake — ATHANOR_COVERAGE=ON instruments every target with gcc's --coverage
# (gcov .gcno/.gcda files next to the objects) for `make coverage`, which builds build/coverage
# (Debug, no sanitizers), runs the tests and reports line and branch coverage per layer with
# gcovr. Not part of make test.
option(ATHANOR_COVERAGE "Instrument for coverage (gcov/gcovr; make coverage)" OFF)
if(ATHANOR_COVERAGE)
  if(NOT CMAKE_C_COMPILER_ID STREQUAL "GNU")
    message(WARNING "ATHANOR_COVERAGE expects gcc (gcov data for gcovr); ${CMAKE_C_COMPILER_ID} may differ")
  endif()
  # -O0 keeps one branch per source branch, so the figures map to the code as written; atomic
  # counter updates, because the pool tests run threads (racing counters go negative, and gcovr
  # then refuses the gcov output: "branch 3 taken -3").
  add_compile_options(--coverage -O0 -fprofile-update=atomic)
  add_link_options(--coverage)
endif()
