# Compiled templates for CMake projects (docs/templates.md).
#
#   dynamo_add_templates(<target> <dir> [SET <name>] [INCLUDES <header>...])
#
# Compiles every <dir>/**/*.eex into C with the template compiler (dynamo::eex) and adds the
# generated sources to <target>, so render() finds them by name: "fruits.html" for
# <dir>/fruits.html.eex, "layouts/home.html" for <dir>/layouts/home.html.eex. SET names the set
# (a C identifier, default: <target>'s name made one), declared by DYN_TEMPLATES_DECLARE(<set>)
# as dyn_templates_<set>. INCLUDES are headers every template includes (after
# dynamo/template.h), for the types and functions its code uses; they are found along
# <target>'s include path.
#
# The set registers itself when the program starts (or the library is loaded), so render()
# finds its templates with no further code; this works for executables, shared libraries and
# static libraries alike (every link of <target> is told to keep the set).
#
# Dependencies: each template is its own generated file, rebuilt when that template (or the
# compiler) changes, so editing one template recompiles one file. The directory is globbed
# with CONFIGURE_DEPENDS: adding or removing a template is picked up by the next build.
# <target> must link dynamo::dynamo (or, for a web module, have its include path: see
# DynamoWeb.cmake).
function(dynamo_add_templates target dir)
  cmake_parse_arguments(PARSE_ARGV 2 T "MODULE" "SET" "INCLUDES")
  if(T_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "dynamo_add_templates: unexpected arguments ${T_UNPARSED_ARGUMENTS}")
  endif()
  get_filename_component(dir "${dir}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  if(NOT IS_DIRECTORY "${dir}")
    message(FATAL_ERROR "dynamo_add_templates: ${dir} is not a directory")
  endif()
  if(NOT T_SET)
    string(MAKE_C_IDENTIFIER "${target}" T_SET)
  endif()
  if(NOT T_SET MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
    message(FATAL_ERROR "dynamo_add_templates: SET ${T_SET} is not a C identifier")
  endif()
  set(includes)
  foreach(h IN LISTS T_INCLUDES)
    list(APPEND includes --include "${h}")
  endforeach()

  file(GLOB_RECURSE files CONFIGURE_DEPENDS "${dir}/*.eex")
  list(SORT files)
  set(gen "${CMAKE_CURRENT_BINARY_DIR}/${target}_templates")
  set(names)
  set(sources)
  foreach(f IN LISTS files)
    file(RELATIVE_PATH rel "${dir}" "${f}")
    string(REGEX REPLACE "\\.eex$" "" name "${rel}")
    set(out "${gen}/${rel}.c")
    get_filename_component(outdir "${out}" DIRECTORY)
    file(MAKE_DIRECTORY "${outdir}")
    add_custom_command(OUTPUT "${out}"
      COMMAND dynamo::eex compile --set "${T_SET}" --name "${name}" ${includes} -o "${out}" "${f}"
      DEPENDS "${f}" dynamo::eex
      COMMENT "Compiling template ${rel}"
      VERBATIM)
    list(APPEND names "${name}")
    list(APPEND sources "${out}")
  endforeach()

  set(registry "${gen}/registry.c")
  file(MAKE_DIRECTORY "${gen}")
  if(T_MODULE)
    set(module --module)
  else()
    set(module)
  endif()
  add_custom_command(OUTPUT "${registry}"
    COMMAND dynamo::eex registry --set "${T_SET}" ${module} -o "${registry}" -- ${names}
    DEPENDS dynamo::eex
    COMMENT "Indexing the templates of ${target} (set ${T_SET})"
    VERBATIM)
  target_sources(${target} PRIVATE ${sources} "${registry}")
  if(NOT T_MODULE)
    # Nothing refers to the registry by name (render looks templates up by string), so a
    # static library's members would be left out of the program: make every link that
    # uses <target> pull it in, and with it every template and the registration.
    target_link_options(${target} PUBLIC "LINKER:--undefined=dyn_templates_${T_SET}")
  endif()
endfunction()
