# Runs one lesson test (cmake -P): -DLESSON=<binary> -DSPEC=<spec file>.
# The spec sets ARGS, EXIT_CODE, OUTPUT, NOT_OUTPUT and ENV (see PyconcLesson.cmake).
# Fails unless the exit code is EXIT_CODE, every OUTPUT regex matches and no
# NOT_OUTPUT regex does; on failure the whole output is printed.
include("${SPEC}")

execute_process(
    COMMAND ${CMAKE_COMMAND} -E env NO_COLOR=1 ${ENV} "${LESSON}" ${ARGS}
    RESULT_VARIABLE exit_code
    OUTPUT_VARIABLE output
    ERROR_VARIABLE output)

set(problems "")
if(NOT "${exit_code}" STREQUAL "${EXIT_CODE}")
    string(APPEND problems "  exit code ${exit_code}, expected ${EXIT_CODE}\n")
endif()
foreach(regex IN LISTS OUTPUT)
    if(NOT output MATCHES "${regex}")
        string(APPEND problems "  output does not match: ${regex}\n")
    endif()
endforeach()
foreach(regex IN LISTS NOT_OUTPUT)
    if(output MATCHES "${regex}")
        string(APPEND problems "  output matches what it must not: ${regex}\n")
    endif()
endforeach()

list(JOIN ARGS " " shown_args)
if(problems)
    message(FATAL_ERROR "${LESSON} ${shown_args}\n${problems}--- output ---\n${output}--- end ---")
endif()
message(STATUS "${LESSON} ${shown_args}: exit ${exit_code}, output as expected")
