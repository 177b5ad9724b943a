# check.cmake — runs the athanor command once and checks its exit status, stdout and stderr.
#   cmake -DATHANOR=<binary> -DARGS="a|b|c" -DRC=<status> [-DSTDOUT=<regex>] [-DSTDERR=<regex>]
#         [-DSTDIN=<file>] -P check.cmake
# ARGS is "|"-separated (a ";" would be split by add_test). A regex must match somewhere in its
# stream; anchor it with ^ and $ to match the whole output.
string(REPLACE "|" ";" args "${ARGS}")
set(input)
if(STDIN)
  set(input INPUT_FILE "${STDIN}")
endif()
execute_process(COMMAND "${ATHANOR}" ${args} ${input}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REPLACE ";" " " shown "${args}")
set(report "command: athanor ${shown}\nexit status: ${rc}\n--- stdout:\n${out}--- stderr:\n${err}---")
if(NOT "${rc}" STREQUAL "${RC}")
  message(FATAL_ERROR "expected exit status ${RC}\n${report}")
endif()
if(DEFINED STDOUT AND NOT out MATCHES "${STDOUT}")
  message(FATAL_ERROR "stdout does not match\n  ${STDOUT}\n${report}")
endif()
if(DEFINED STDERR AND NOT err MATCHES "${STDERR}")
  message(FATAL_ERROR "stderr does not match\n  ${STDERR}\n${report}")
endif()
message(STATUS "${report}")
