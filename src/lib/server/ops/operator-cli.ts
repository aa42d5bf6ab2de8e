// The entry of `npm run doorcode -- <command>` (built by vite.operator.config.ts into dist/operator/doorcode.js).
import { runOperatorCommand } from './operator';

async function readStandardInput(prompt: string): Promise<string> {
	if (process.stdin.isTTY) process.stderr.write(`${prompt}\n`);
	let text = '';
	for await (const chunk of process.stdin) text += chunk;
	return text;
}

process.exitCode = await runOperatorCommand(
	process.argv.slice(2),
	process.env,
	{ out: (line) => console.log(line), err: (line) => console.error(line) },
	readStandardInput
);
