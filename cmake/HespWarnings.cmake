# Strict warnings for our own targets only; third-party headers are included as SYSTEM.
function(hesp_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  if(HESP_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
