/** Values both engines keep in a text column of their own making, written the same way by each. */

/** A person's groups as stored: a sorted JSON array without repeats; null keeps what is stored. */
export function groupsJson(groups: string[] | null | undefined): string | null {
	return groups ? JSON.stringify([...new Set(groups)].sort()) : null;
}
