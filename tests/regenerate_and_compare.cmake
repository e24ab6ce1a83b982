# Runs GENERATOR OUT and fails unless OUT equals CHECKED_IN byte for byte.
execute_process(COMMAND ${GENERATOR} ${OUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${GENERATOR} failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${OUT} ${CHECKED_IN} RESULT_VARIABLE diff)
if(NOT diff EQUAL 0)
  message(FATAL_ERROR "${CHECKED_IN} differs from what the reference computes now (${OUT}); "
                      "if the change is intended: cmake --build build --target regenerate_sphere_codebooks")
endif()
message(STATUS "${CHECKED_IN}: identical to the regenerated table")
