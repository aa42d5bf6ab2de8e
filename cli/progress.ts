// What the CLI shows on stderr while it waits for the person in the browser:
// on a terminal, one live line rewritten in place ("Waiting for approval ·
// 8:41 left"); in a log or pipe, one plain line each time the stage changes,
// so the output stays readable and free of control characters.

export type Progress = {
	/** Shows a new stage (the server's `error_description`, or our own note). */
	setStage(stage: string): void;
	/** Prints a one-off message without garbling the live line. */
	log(message: string): void;
	/** Clears the live line; call before printing the outcome. */
	stop(): void;
};

type Stream = Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean; columns?: number };

/** Time left as m:ss, rounded up so "0:00" means it has expired. */
export function formatTimeLeft(ms: number): string {
	const total = Math.max(0, Math.ceil(ms / 1000));
	const minutes = Math.floor(total / 60);
	const seconds = total % 60;
	return `${minutes}:${String(seconds).padStart(2, '0')}`;
}

/** The live line's text, cut to the terminal width: a wrapped line cannot be rewritten with \r. */
export function statusLine(stage: string, msLeft: number, columns?: number): string {
	const text = `${stage.charAt(0).toUpperCase()}${stage.slice(1)} · ${formatTimeLeft(msLeft)} left`;
	const width = columns && columns > 1 ? columns - 1 : Infinity;
	return text.length > width ? text.slice(0, Math.max(0, width - 1)) + '…' : text;
}

const CLEAR_LINE = '\r\x1b[2K';

export function createProgress(stream: Stream, deadline: number, now: () => number = Date.now): Progress {
	let stage = '';
	if (!stream.isTTY) {
		return {
			setStage(next) {
				if (next === stage) return;
				stage = next;
				stream.write(`${next} (${formatTimeLeft(deadline - now())} left)\n`);
			},
			log(message) {
				stream.write(message + '\n');
			},
			stop() {}
		};
	}

	let active = false;
	const render = () => {
		if (!stage) return;
		active = true;
		stream.write(CLEAR_LINE + statusLine(stage, deadline - now(), stream.columns));
	};
	// Redraw every second so the countdown moves between polls. unref: the
	// ticker alone must never keep the process alive.
	const ticker = setInterval(render, 1000);
	ticker.unref();

	return {
		setStage(next) {
			stage = next;
			render();
		},
		log(message) {
			if (active) stream.write(CLEAR_LINE);
			stream.write(message + '\n');
			render();
		},
		stop() {
			clearInterval(ticker);
			if (active) stream.write(CLEAR_LINE);
			active = false;
		}
	};
}
