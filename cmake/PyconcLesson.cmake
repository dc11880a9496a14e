# The lesson helper: the one way a lesson enters the build, the tour and ctest.
#
#   pyconc_add_lesson(NAME
#       STEP n              # its place in the workshop: the tour runs lessons by
#                           # increasing STEP (the hand-out's order: memory, GIL, ...)
#       LABELS label...     # the subsystems it teaches: memory, gc, gil, asyncio,
#                           # threading, multiprocessing ... (every test of it gets them)
#       WATCH "text"        # one line: what to watch for; the tour prints it
#       QUICK flag...)      # optional: flags that make it quick (smaller sizes), which
#                           # `tour --quick` passes: ctest runs the whole tour that way,
#                           # in Debug and under the sanitizers too
#
# builds NAME.cpp, in the folder that calls it (basics/ or advance/), as the
# executable NAME and registers it with the workshop tour at its STEP. It
# adds two tests that every lesson must pass: NAME.help (--help exits 0 and
# says what the lesson shows) and NAME.bad_expect (an unknown --expect word is
# refused with one line naming the flag).
#
#   pyconc_lesson_test(NAME CASE
#       ARGS arg...         # the flags of this run
#       EXIT_CODE n         # the exit status it must end with (default 0)
#       OUTPUT regex...     # each must match somewhere in stdout+stderr
#       NOT_OUTPUT regex... # none may match
#       LABELS label...     # race / no-race for verdict tests, anything else
#       ENV VAR=value...    # extra environment
#       PYTHON version      # the CPython it models (--python; default 3.12)
#       SERIAL)             # runs alone (it compares speeds: no other test on the cores)
#
# adds the test NAME.CASE. Every case names the CPython it models, so that
# what it asserts does not depend on the python3 of the machine it runs on;
# the label python-VERSION selects them (ctest -L python-3.9). A ctest PASS_REGULAR_EXPRESSION ignores the exit
# code, so the run goes through cmake/PyconcRunLesson.cmake, which checks both
# and prints the whole output when either is wrong. Verdict tests pass
# `--expect VERDICT` in ARGS: the lesson's own exit code then says whether the
# verdict matched, and OUTPUT pins the figures behind it.
include_guard(GLOBAL)

set(PYCONC_RUN_LESSON_SCRIPT "${CMAKE_CURRENT_LIST_DIR}/PyconcRunLesson.cmake")

function(pyconc_add_lesson name)
    cmake_parse_arguments(PARSE_ARGV 1 arg "" "WATCH;STEP" "LABELS;QUICK")
    if(NOT arg_STEP MATCHES "^[0-9]+$")
        message(FATAL_ERROR "pyconc_add_lesson(${name}): STEP n is required (the tour runs lessons by STEP)")
    endif()
    if(NOT arg_WATCH)
        message(FATAL_ERROR "pyconc_add_lesson(${name}): WATCH \"...\" is required (the tour prints it)")
    endif()
    if(NOT arg_LABELS)
        message(FATAL_ERROR "pyconc_add_lesson(${name}): LABELS is required (ctest -L selects by it)")
    endif()
    get_filename_component(folder "${CMAKE_CURRENT_SOURCE_DIR}" NAME)

    add_executable(${name} ${name}.cpp)
    pyconc_target_defaults(${name})

    set_property(GLOBAL APPEND PROPERTY PYCONC_LESSONS ${name})
    set_property(GLOBAL PROPERTY PYCONC_LESSON_${name}_STEP "${arg_STEP}")
    set_property(GLOBAL PROPERTY PYCONC_LESSON_${name}_FOLDER "${folder}")
    set_property(GLOBAL PROPERTY PYCONC_LESSON_${name}_WATCH "${arg_WATCH}")
    set_property(GLOBAL PROPERTY PYCONC_LESSON_${name}_LABELS "${arg_LABELS}")
    set_property(GLOBAL PROPERTY PYCONC_LESSON_${name}_QUICK "${arg_QUICK}")

    if(PYCONC_BUILD_TESTS)
        pyconc_lesson_test(${name} help ARGS --help OUTPUT "Usage:" "--expect" "--json")
        pyconc_lesson_test(${name} bad_expect ARGS --expect no-such-verdict
            EXIT_CODE 2 OUTPUT "^--expect: .*no-such-verdict.*one of")
        pyconc_lesson_test(${name} bad_python ARGS --python 3.99
            EXIT_CODE 2 OUTPUT "^--python: '3.99' is not accepted: expected one of 3.9, 3.10, .*, 3.14t\n$")
    endif()
endfunction()

function(pyconc_lesson_test name case)
    cmake_parse_arguments(PARSE_ARGV 2 arg "SERIAL" "EXIT_CODE;PYTHON" "ARGS;OUTPUT;NOT_OUTPUT;LABELS;ENV")
    if(NOT TARGET ${name})
        message(FATAL_ERROR "pyconc_lesson_test(${name} ${case}): no lesson ${name}; call pyconc_add_lesson first")
    endif()
    if(NOT DEFINED arg_EXIT_CODE)
        set(arg_EXIT_CODE 0)
    endif()
    if(NOT DEFINED arg_PYTHON)
        set(arg_PYTHON 3.12)
    endif()
    # A case that asks for a version itself (bad_python) keeps its own.
    if(NOT "--python" IN_LIST arg_ARGS)
        list(PREPEND arg_ARGS --python ${arg_PYTHON})
    endif()
    get_property(lesson_labels GLOBAL PROPERTY PYCONC_LESSON_${name}_LABELS)

    # The spec is written with bracket arguments so that regexes and flags
    # keep their quotes and backslashes as written.
    set(spec "${CMAKE_CURRENT_BINARY_DIR}/lesson_tests/${name}.${case}.cmake")
    set(content "set(EXIT_CODE ${arg_EXIT_CODE})\n")
    foreach(list ARGS OUTPUT NOT_OUTPUT ENV)
        string(APPEND content "set(${list})\n")
        foreach(item IN LISTS arg_${list})
            string(APPEND content "list(APPEND ${list} [==[${item}]==])\n")
        endforeach()
    endforeach()
    file(WRITE "${spec}" "${content}")

    add_test(NAME ${name}.${case}
        COMMAND ${CMAKE_COMMAND} -DLESSON=$<TARGET_FILE:${name}> -DSPEC=${spec}
                -P ${PYCONC_RUN_LESSON_SCRIPT})
    set_tests_properties(${name}.${case} PROPERTIES
        LABELS "lesson;${lesson_labels};${arg_LABELS};python-${arg_PYTHON}" TIMEOUT 120)
    if(arg_SERIAL)
        # It compares how fast models run: no other test may share the cores.
        set_tests_properties(${name}.${case} PROPERTIES RUN_SERIAL TRUE)
    endif()
endfunction()
