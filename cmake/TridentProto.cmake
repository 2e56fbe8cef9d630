# trident_add_proto(<target> FILES <a.proto>... [PROTO_ROOT <dir>] [IMPORT_DIRS <dir>...])
#
# Compiles .proto files into <target>: protoc's C++ classes (x.pb.h/.cc) and
# trident's service base classes and client stubs (x.trident.h/.cc, from
# tools/protoc-gen-trident). A user's project needs three lines:
#
#   add_executable(payments main.cpp)
#   trident_add_proto(payments FILES payments.proto)
#   target_link_libraries(payments PRIVATE trident)
#
# FILES       .proto files, relative to the current source directory or absolute;
#             all of them are compiled into <target>, so list the project's own
#             imported files too (google/protobuf/*.proto are in libprotobuf).
# PROTO_ROOT  the import root the files are named from (default: the current
#             source directory): PROTO_ROOT/api/x.proto is "api/x.proto" and
#             generates api/x.pb.h and api/x.trident.h, included by that name.
# IMPORT_DIRS more roots for imports (the root of libprotobuf's own .proto files
#             is always searched last).
#
# The generated files go to ${CMAKE_CURRENT_BINARY_DIR}/<target>_proto/, which
# becomes a (PUBLIC) include directory of <target>; <target> also links
# libprotobuf. A .proto and everything it imports are dependencies: editing
# any of them regenerates.
include_guard(GLOBAL)

function(trident_add_proto target)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "PROTO_ROOT" "FILES;IMPORT_DIRS")
  if(arg_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "trident_add_proto(${target}): unexpected arguments: ${arg_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT arg_FILES)
    message(FATAL_ERROR "trident_add_proto(${target}): no FILES given")
  endif()
  if(NOT TARGET ${target})
    message(FATAL_ERROR "trident_add_proto(${target}): no such target (add_executable/add_library first)")
  endif()
  get_target_property(type ${target} TYPE)
  if(type STREQUAL "INTERFACE_LIBRARY")
    message(FATAL_ERROR "trident_add_proto(${target}): an INTERFACE library compiles nothing")
  endif()
  if(NOT TARGET protoc-gen-trident)
    message(FATAL_ERROR "trident_add_proto(${target}): the protoc-gen-trident target is not defined "
                        "(add trident's source tree with add_subdirectory first)")
  endif()
  # Imported targets are scoped to a directory: look protobuf up again where
  # the caller is if trident's own lookup is not visible here.
  if(NOT TARGET protobuf::libprotobuf OR NOT TARGET protobuf::protoc)
    find_package(Protobuf REQUIRED)
  endif()

  set(root "${CMAKE_CURRENT_SOURCE_DIR}")
  if(arg_PROTO_ROOT)
    get_filename_component(root "${arg_PROTO_ROOT}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  endif()
  set(import_args "--proto_path=${root}")
  foreach(dir IN LISTS arg_IMPORT_DIRS)
    get_filename_component(dir "${dir}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    list(APPEND import_args "--proto_path=${dir}")
  endforeach()
  get_target_property(pb_includes protobuf::libprotobuf INTERFACE_INCLUDE_DIRECTORIES)
  foreach(dir IN LISTS pb_includes)
    if(EXISTS "${dir}/google/protobuf/descriptor.proto")
      list(APPEND import_args "--proto_path=${dir}")
    endif()
  endforeach()

  set(gen "${CMAKE_CURRENT_BINARY_DIR}/${target}_proto")
  file(MAKE_DIRECTORY "${gen}")
  set(sources)
  foreach(file IN LISTS arg_FILES)
    get_filename_component(abs "${file}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
    file(RELATIVE_PATH rel "${root}" "${abs}")
    if(rel MATCHES "^\\.\\./" OR IS_ABSOLUTE "${rel}")
      message(FATAL_ERROR "trident_add_proto(${target}): ${abs} is not under PROTO_ROOT ${root}")
    endif()
    if(NOT rel MATCHES "\\.proto$")
      message(FATAL_ERROR "trident_add_proto(${target}): ${file} is not a .proto file")
    endif()
    string(REGEX REPLACE "\\.proto$" "" base "${rel}")
    set(outputs "${gen}/${base}.pb.cc" "${gen}/${base}.pb.h"
                "${gen}/${base}.trident.cc" "${gen}/${base}.trident.h")
    # protoc lists the .proto and all it imports; Ninja and Makefiles read it.
    set(depfile_args)
    if(CMAKE_GENERATOR MATCHES "Ninja|Makefiles")
      set(depfile_args DEPFILE "${gen}/${base}.d")
      set(depfile_option "--dependency_out=${gen}/${base}.d")
    else()
      set(depfile_option)
    endif()
    add_custom_command(
      OUTPUT ${outputs}
      COMMAND protobuf::protoc ${import_args}
              --cpp_out=${gen} --trident_out=${gen}
              --plugin=protoc-gen-trident=$<TARGET_FILE:protoc-gen-trident>
              ${depfile_option} "${abs}"
      DEPENDS "${abs}" protobuf::protoc protoc-gen-trident
      ${depfile_args}
      COMMENT "protoc (C++ + trident) ${rel}"
      VERBATIM)
    list(APPEND sources ${outputs})
  endforeach()

  target_sources(${target} PRIVATE ${sources})
  target_include_directories(${target} PUBLIC "${gen}")
  # Not target_link_libraries: that would force its keyword (or plain)
  # signature on the caller's own target_link_libraries line.
  set_property(TARGET ${target} APPEND PROPERTY LINK_LIBRARIES protobuf::libprotobuf)
  if(NOT type STREQUAL "EXECUTABLE")
    set_property(TARGET ${target} APPEND PROPERTY INTERFACE_LINK_LIBRARIES protobuf::libprotobuf)
  endif()
endfunction()
