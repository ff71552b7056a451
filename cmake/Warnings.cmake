# nncert_target_defaults(target): warnings, optional -Werror, sanitizers, -march=native.
add_library(nncert_build_flags INTERFACE)
target_compile_options(nncert_build_flags INTERFACE -Wall -Wextra -Wpedantic -Wshadow
  -Wnon-virtual-dtor -Wno-unused-parameter)
# GCC 12 reports std::vector allocations inlined at -O3 as freeing non-heap memory (a known false
# positive of -Wfree-nonheap-object, fixed in later GCC); keep it from breaking -Werror builds.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(nncert_build_flags INTERFACE -Wno-free-nonheap-object)
endif()
if(NNCERT_WERROR)
  target_compile_options(nncert_build_flags INTERFACE -Werror)
endif()
if(NNCERT_NATIVE)
  target_compile_options(nncert_build_flags INTERFACE -march=native)
endif()
if(NNCERT_SANITIZE)
  target_compile_options(nncert_build_flags INTERFACE -fsanitize=address,undefined
    -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(nncert_build_flags INTERFACE -fsanitize=address,undefined)
endif()
target_include_directories(nncert_build_flags INTERFACE ${PROJECT_BINARY_DIR}/generated)

function(nncert_target_defaults target)
  target_link_libraries(${target} PRIVATE nncert_build_flags)
endfunction()
