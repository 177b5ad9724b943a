# ATHANOR_SANITIZE=address,undefined (or thread) instruments every target of the build.
set(ATHANOR_SANITIZE "" CACHE STRING "Sanitizers to build with: address,undefined | thread | empty")
if(ATHANOR_SANITIZE)
  add_compile_options(-fsanitize=${ATHANOR_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${ATHANOR_SANITIZE})
endif()
