// qrcode-terminal ships no types; this is the one call the CLI makes.
declare module 'qrcode-terminal' {
	type Options = { small?: boolean };
	const qrcode: {
		generate(input: string, options: Options, callback: (art: string) => void): void;
		generate(input: string, callback?: (art: string) => void): void;
	};
	export default qrcode;
}
