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

# A numeric core built twice into `target`: for the baseline ISA and, on x86-64, with AVX2 + FMA
# under a renamed Eigen namespace (so the linker cannot mix the two builds of Eigen's templates).
# `source` is compiled with VARIANT_MACRO=generic / avx2; `target` gets HAVE_MACRO defined when the
# AVX2 build exists, and picks one at run time.
function(nncert_isa_variants target source variant_macro have_macro)
  set(variants generic)
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
    list(APPEND variants avx2)
  endif()
  foreach(variant IN LISTS variants)
    set(name ${target}_${variant})
    add_library(${name} OBJECT ${source})
    target_compile_definitions(${name} PRIVATE ${variant_macro}=${variant})
    if(variant STREQUAL "avx2")
      target_compile_definitions(${name} PRIVATE Eigen=EigenAvx2)
      target_compile_options(${name} PRIVATE -mavx2 -mfma)
      target_compile_definitions(${target} PRIVATE ${have_macro})
    endif()
    target_link_libraries(${name} PRIVATE nncert_core Eigen3::Eigen)
    nncert_target_defaults(${name})
    target_sources(${target} PRIVATE $<TARGET_OBJECTS:${name}>)
  endforeach()
endfunction()
