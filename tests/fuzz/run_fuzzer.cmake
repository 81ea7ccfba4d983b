# Runs one libFuzzer target for a bounded time (CTest driver; see CMakeLists.txt here).
#   cmake -DFUZZER=<exe> -DNAME=<target> -DSOURCE_DIR=<tests/fuzz> -DWORK_DIR=<dir>
#         -DSECONDS=<n> -P run_fuzzer.cmake
foreach(var FUZZER NAME SOURCE_DIR WORK_DIR SECONDS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzzer.cmake: -D${var}= is required")
  endif()
endforeach()

# libFuzzer writes new inputs into the first corpus directory only: the scratch one.
file(MAKE_DIRECTORY ${WORK_DIR}/corpus ${WORK_DIR}/artifacts)
set(corpora ${WORK_DIR}/corpus)
foreach(kind corpus regressions)
  if(IS_DIRECTORY ${SOURCE_DIR}/${kind}/${NAME})
    list(APPEND corpora ${SOURCE_DIR}/${kind}/${NAME})
  endif()
endforeach()
set(options
    -max_total_time=${SECONDS}
    -malloc_limit_mb=256
    -rss_limit_mb=1024
    -timeout=25
    -print_final_stats=1
    -artifact_prefix=${WORK_DIR}/artifacts/)
if(EXISTS ${SOURCE_DIR}/${NAME}.dict)
  list(APPEND options -dict=${SOURCE_DIR}/${NAME}.dict)
endif()

list(JOIN options " " options_text)
list(JOIN corpora " " corpora_text)
message(STATUS "${FUZZER} ${options_text} ${corpora_text}")
execute_process(COMMAND ${FUZZER} ${options} ${corpora} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NAME} failed (exit ${rc}); the crashing input is in "
                      "${WORK_DIR}/artifacts/ -- reproduce with: ${FUZZER} <input>")
endif()
