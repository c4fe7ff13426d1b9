# Debian packages with CPack (`cpack -G DEB` in the build directory):
#   kring-node         the school node, its service and doctor
#   kring-coordinator  the coordinator, its service and /etc/kring/
#                      coordinator.toml (a conffile)
#   kring              the command line of requesters, approvers, admins
# Dependencies come from dpkg-shlibdeps; maintainer scripts, units and the
# conffile are in deploy/ (debian/, systemd/, etc/). deploy/package-test.sh
# builds, lints and installs them.

set(KRING_DEB_REVISION 1)
set(KRING_DEB_VERSION "${PROJECT_VERSION}-${KRING_DEB_REVISION}")
set(KRING_DEB_DIR ${PROJECT_BINARY_DIR}/deb)
set(KRING_DEPLOY ${PROJECT_SOURCE_DIR}/deploy)

install(TARGETS kring-node RUNTIME DESTINATION bin COMPONENT node)
install(TARGETS kring-coordinator RUNTIME DESTINATION bin
  COMPONENT coordinator)
install(TARGETS kring RUNTIME DESTINATION bin COMPONENT cli)

# changelog.Debian.gz (gzip -9n: reproducible) and copyright, per package.
configure_file(${KRING_DEPLOY}/debian/changelog.in ${KRING_DEB_DIR}/changelog
  @ONLY)
execute_process(
  COMMAND gzip -9nc ${KRING_DEB_DIR}/changelog
  OUTPUT_FILE ${KRING_DEB_DIR}/changelog.Debian.gz
  COMMAND_ERROR_IS_FATAL ANY)

# Manual pages, gzip -9n as well.
foreach(page kring-node kring-coordinator kring)
  execute_process(
    COMMAND gzip -9nc ${KRING_DEPLOY}/man/${page}.1
    OUTPUT_FILE ${KRING_DEB_DIR}/${page}.1.gz
    COMMAND_ERROR_IS_FATAL ANY)
endforeach()
install(FILES ${KRING_DEB_DIR}/kring-node.1.gz DESTINATION share/man/man1
  COMPONENT node)
install(FILES ${KRING_DEB_DIR}/kring-coordinator.1.gz
  DESTINATION share/man/man1 COMPONENT coordinator)
install(FILES ${KRING_DEB_DIR}/kring.1.gz DESTINATION share/man/man1
  COMPONENT cli)

# One function per service package: unit, docs and maintainer scripts.
function(kring_deb_package component package user)
  install(FILES ${KRING_DEPLOY}/systemd/${package}.service
    DESTINATION /lib/systemd/system COMPONENT ${component})
  install(FILES ${KRING_DEB_DIR}/changelog.Debian.gz
      ${KRING_DEPLOY}/debian/copyright ${PROJECT_SOURCE_DIR}/docs/install.md
    DESTINATION share/doc/${package} COMPONENT ${component})
  # Not an upload to Debian: there is no ITP bug for the changelog to close.
  file(WRITE ${KRING_DEB_DIR}/${component}/lintian-overrides
    "${package}: initial-upload-closes-no-bugs\n")
  install(FILES ${KRING_DEB_DIR}/${component}/lintian-overrides
    DESTINATION share/lintian/overrides RENAME ${package}
    COMPONENT ${component})
  set(KRING_PKG ${package})
  set(KRING_USER ${user})
  set(scripts)
  foreach(script postinst prerm postrm)
    configure_file(${KRING_DEPLOY}/debian/${script}.in
      ${KRING_DEB_DIR}/${component}/${script} @ONLY
      FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
        GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
    list(APPEND scripts ${KRING_DEB_DIR}/${component}/${script})
  endforeach()
  set(KRING_DEB_SCRIPTS_${component} ${scripts} PARENT_SCOPE)
endfunction()

kring_deb_package(node kring-node kring-node)
kring_deb_package(coordinator kring-coordinator kring-coordinator)
install(FILES ${KRING_DEPLOY}/etc/kring/coordinator.toml
  DESTINATION /etc/kring COMPONENT coordinator)
file(WRITE ${KRING_DEB_DIR}/coordinator/conffiles
  "/etc/kring/coordinator.toml\n")
install(FILES ${KRING_DEB_DIR}/changelog.Debian.gz
    ${KRING_DEPLOY}/debian/copyright
  DESTINATION share/doc/kring COMPONENT cli)
file(WRITE ${KRING_DEB_DIR}/cli/lintian-overrides
  "kring: initial-upload-closes-no-bugs\n")
install(FILES ${KRING_DEB_DIR}/cli/lintian-overrides
  DESTINATION share/lintian/overrides RENAME kring COMPONENT cli)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME kring)
set(CPACK_PACKAGE_VENDOR "kring maintainers")
set(CPACK_PACKAGE_CONTACT
  "kring maintainers <maintainers@users.noreply.r-seed-a51c255f.example>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
# Each package's description below starts with its own synopsis line;
# an empty project summary keeps CPack from prepending one.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_COMPONENTS_ALL node coordinator cli)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${KRING_DEB_REVISION})
set(CPACK_DEBIAN_PACKAGE_SOURCE kring)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_NODE_PACKAGE_NAME kring-node)
set(CPACK_DEBIAN_NODE_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_NODE_PACKAGE_CONTROL_EXTRA ${KRING_DEB_SCRIPTS_node})
set(CPACK_COMPONENT_NODE_DESCRIPTION
  "kring school node for privacy-first survey statistics
kring-node keeps a school's sense-of-belonging survey data encrypted on
the school's own server, imports the exports school IT already has, and
takes part in approved queries by secure aggregation, so that no pupil's
answers leave the school. Includes the kring-node service (systemd) and
`kring-node doctor`.")

set(CPACK_DEBIAN_COORDINATOR_PACKAGE_NAME kring-coordinator)
set(CPACK_DEBIAN_COORDINATOR_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_COORDINATOR_PACKAGE_CONTROL_EXTRA
  ${KRING_DEB_SCRIPTS_coordinator} ${KRING_DEB_DIR}/coordinator/conffiles)
set(CPACK_COMPONENT_COORDINATOR_DESCRIPTION
  "kring coordinator for privacy-first survey statistics
kring-coordinator is the service school nodes connect to and requesters
query. It relays encrypted secure-aggregation messages, decodes only sums
over schools, and releases them after disclosure control. Includes the
kring-coordinator service (systemd).")

set(CPACK_DEBIAN_CLI_PACKAGE_NAME kring)
set(CPACK_COMPONENT_CLI_DESCRIPTION
  "command line of requesters, approvers and admins of kring
kring submits queries to a kring coordinator, lets approvers check and
sign them, fetches released results and administers users and schools.")

include(CPack)

# `ctest -L package`: deploy/package-test.sh, which builds its own build-deb/
# and, as root without systemd as PID 1, installs the packages into this
# machine. Off by default, so that `ctest` alone never does that; CI runs
# the script directly (.ci/run).
option(KRING_PACKAGE_TEST "Register deploy/package-test.sh as ctest label package" OFF)
if(KRING_PACKAGE_TEST)
  enable_testing()
  add_test(NAME package COMMAND ${PROJECT_SOURCE_DIR}/deploy/package-test.sh)
  set_tests_properties(package PROPERTIES LABELS package TIMEOUT 1800)
endif()
