# The libraries athanor builds on, all from Debian packages (scripts/bootstrap installs them).
find_package(PkgConfig REQUIRED)
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3>=3.35)
pkg_check_modules(MSGPACK REQUIRED IMPORTED_TARGET msgpack>=4.0)
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)
find_package(Threads REQUIRED)
# Server drivers: libpq (PostgreSQL) and MariaDB Connector/C (MySQL and MariaDB).
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
pkg_check_modules(MARIADB REQUIRED IMPORTED_TARGET libmariadb)
