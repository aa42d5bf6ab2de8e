/**
 * Units of time. doorcode keeps moments and durations in milliseconds (names end in `Ms`,
 * `At` or `_at`) and counts durations that people and protocols set in seconds (names end in
 * `Seconds`): these are the only conversions between the two.
 */
export const SECOND_MS = 1_000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
export const DAY_SECONDS = DAY_MS / SECOND_MS;

export const msFromSeconds = (seconds: number): number => seconds * SECOND_MS;
/** A duration in (fractional) seconds: Prometheus' base unit. */
export const secondsFromMs = (ms: number): number => ms / SECOND_MS;
/** A moment in whole seconds since the epoch: a JWT NumericDate (RFC 7519 §2). */
export const wholeSecondsOf = (ms: number): number => Math.floor(ms / SECOND_MS);
/** Whole seconds from `now` until `until`, rounded up (Retry-After, a cookie's Max-Age). */
export const secondsUntil = (until: number, now: number): number => Math.ceil((until - now) / SECOND_MS);
