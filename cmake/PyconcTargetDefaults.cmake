# pyconc_target_defaults(TARGET): what every lesson, test and benchmark of
# pyconc itself is built with: the model, the lesson chrome, the model
# programs (programs/, not installed) and pyconc_compile_options.
function(pyconc_target_defaults target)
    target_link_libraries(${target} PRIVATE pyconc::pyconc pyconc::lesson)
    target_include_directories(${target} PRIVATE "${PROJECT_SOURCE_DIR}")
    pyconc_compile_options(${target})
endfunction()

# pyconc_compile_options(TARGET): full warnings (errors in the dev presets)
# and the sanitizers the preset asks for. The model's interface target
# carries none of this: a project that uses pyconc keeps its own flags.
function(pyconc_compile_options target)
    if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
        target_compile_options(${target} PRIVATE
            -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
            -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual)
        if(PYCONC_WARNINGS_AS_ERRORS)
            target_compile_options(${target} PRIVATE -Werror)
        endif()
        if(PYCONC_SANITIZERS)
            list(JOIN PYCONC_SANITIZERS "," sanitizers)
            target_compile_options(${target} PRIVATE
                -fsanitize=${sanitizers} -fno-omit-frame-pointer -fno-sanitize-recover=all)
            # PUBLIC: whatever links a sanitized library (pyconc::lesson,
            # installed from a sanitizer build too) needs the sanitizer's runtime.
            target_link_options(${target} PUBLIC -fsanitize=${sanitizers})
        endif()
    endif()
endfunction()
