// respool/pg.hpp — PostgreSQL connections for respool, on libpq.
//
// Everything of the adapter in one include:
//   respool::pg::Adapter     makes, checks and recycles connections (adapter.hpp)
//   respool::pg::Options     conninfo, setup and reset statements, network defaults (options.hpp)
//   respool::pg::Connection  the pooled resource: raw PGconn* plus exec() (connection.hpp)
//   respool::pg::Result      an owned PGresult with typed accessors (result.hpp)
//   respool::pg::Error       SQLSTATE, server message, never a password (error.hpp)
//
// libpq stays out of this header: `PGconn` and `PGresult` appear only as the
// opaque `pg_conn*` / `pg_result*`; include <libpq-fe.h> yourself to use them.
// See docs/adapters/postgresql.md.
//
//   #include <respool/pg.hpp>
//   #include <respool/pool.hpp>
//
//   respool::Pool pool{respool::pg::Adapter{"postgresql://app@db/app"}, {}};
//   auto lease = pool.acquire();
//   int one = lease->exec("SELECT $1::int", 1).value<int>();
#pragma once

#include <respool/pg/adapter.hpp>
#include <respool/pg/connection.hpp>
#include <respool/pg/error.hpp>
#include <respool/pg/options.hpp>
#include <respool/pg/result.hpp>
#include <respool/pg/role.hpp>
