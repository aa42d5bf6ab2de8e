// The Node flags and the environment doorcode's server runs with: npm start, the bench and
// the systemd unit (docs/deploy/doorcode.service, which a test holds to these) use them alike.
//
// --max-semi-space-size=8: V8's young generation otherwise grows to tens of MB under a
// steady request load, which is garbage awaiting collection, not data; at 8 MB a poll load
// keeps the same rate with some 30 MB less resident memory (docs/performance.md).
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=8'];

// MALLOC_ARENA_MAX=2: glibc otherwise gives each thread that allocates (V8's helpers, libuv's
// pool) an arena of its own, up to eight per core, each holding freed memory apart.
/** @type {Record<string, string>} */
export const SERVER_ENVIRONMENT = { MALLOC_ARENA_MAX: '2' };
