# nncert_target_defaults(target): warnings, optional -Werror, sanitizers, -march=native.
add_library(nncert_build_flags INTERFACE)
target_compile_options(nncert_build_flags INTERFACE -Wall -Wextra -Wpedantic -Wshadow
  -Wnon-virtual-dtor -Wno-unused-parameter)
# GCC 12 at -O3 has known false positives: std::vector allocations reported as freeing non-heap
# memory (-Wfree-nonheap-object) and std::string concatenation reported as overlapping memcpy
# (-Wrestrict, GCC bug 105329). Keep them from breaking -Werror builds.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  target_compile_options(nncert_build_flags INTERFACE -Wno-free-nonheap-object -Wno-restrict)
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
