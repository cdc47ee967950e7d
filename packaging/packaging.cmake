# Install rules, man pages and the .deb (CPack), included from the top-level
# CMakeLists.txt. `cmake --install build/default --prefix /usr` installs:
#   bin/meshd meshctl meshsim meshlog
#   lib/systemd/system/meshd.service, lib/sysusers.d/meshd.conf
#   share/man/man8/meshd.8 meshctl.8, share/man/man1/meshsim.1 meshlog.1
#   share/doc/meshd/{operator.md, meshd.example.json, prometheus-*.yml}
#   share/bash-completion/completions/{meshd,meshctl}
#   /etc/meshd/node.json.example (absolute: the config directory)
# `cpack --config build/default/CPackConfig.cmake` builds the .deb
# (tools/dev.sh deb).
include(GNUInstallDirs)

install(TARGETS meshd meshctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS meshsim meshlog RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${CMAKE_SOURCE_DIR}/packaging/meshd.service DESTINATION lib/systemd/system)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/meshd.sysusers DESTINATION lib/sysusers.d RENAME meshd.conf)
install(FILES ${CMAKE_SOURCE_DIR}/docs/operator.md ${CMAKE_SOURCE_DIR}/packaging/meshd.example.json
              ${CMAKE_SOURCE_DIR}/docs/prometheus-scrape.yml ${CMAKE_SOURCE_DIR}/docs/prometheus-alerts.yml
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${CMAKE_SOURCE_DIR}/packaging/meshd.example.json DESTINATION /etc/meshd RENAME node.json.example)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/completion.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME meshctl)
install(FILES ${CMAKE_SOURCE_DIR}/packaging/completion.bash DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
        RENAME meshd)

# Man pages from each binary's --help (packaging/gen-man.sh): the help text
# is their one source, so they cannot drift from the binaries.
set(MESHD_MAN_DIR ${CMAKE_BINARY_DIR}/man)
set(MESHD_MAN_PAGES)
foreach(spec "meshd;8;run key" "meshctl;8;status why reload rotate-key" "meshsim;1;" "meshlog;1;")
  list(GET spec 0 tool)
  list(GET spec 1 section)
  list(GET spec 2 verbs)
  separate_arguments(verbs)
  set(page ${MESHD_MAN_DIR}/${tool}.${section})
  add_custom_command(OUTPUT ${page}
                     COMMAND ${CMAKE_COMMAND} -E make_directory ${MESHD_MAN_DIR}
                     COMMAND ${CMAKE_SOURCE_DIR}/packaging/gen-man.sh $<TARGET_FILE:${tool}> ${tool} ${section} ${page} ${verbs}
                     DEPENDS ${tool} ${CMAKE_SOURCE_DIR}/packaging/gen-man.sh ${CMAKE_SOURCE_DIR}/packaging/man-summaries.txt
                     VERBATIM)
  list(APPEND MESHD_MAN_PAGES ${page})
  install(FILES ${page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
add_custom_target(man ALL DEPENDS ${MESHD_MAN_PAGES})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME meshd)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "meshd maintainers <meshd@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "encrypted peer mesh node, built simulation-first")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)  # debug info stays in the build tree
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_SOURCE_DIR}/packaging/postinst ${CMAKE_SOURCE_DIR}/packaging/prerm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
