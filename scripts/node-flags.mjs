// The Node flags doorcode's server runs with: npm start, the bench and the systemd unit
// (docs/deploy/doorcode.service, whose ExecStart a test holds to this list) use them alike.
//
// --max-semi-space-size=8: V8's young generation otherwise grows to tens of MB under a
// steady request load, which is garbage awaiting collection, not data; at 8 MB a poll load
// keeps the same rate with some 30 MB less resident memory (docs/performance.md).
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=8'];
