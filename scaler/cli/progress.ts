/** Progress lines for people: what is happening and how long it has taken so far, on stderr. */
export function progressPrinter(stream: NodeJS.WritableStream = process.stderr): (message: string) => void {
  const started = Date.now();
  return (message) => {
    const seconds = ((Date.now() - started) / 1000).toFixed(1).padStart(6);
    stream.write(`[${seconds}s] ${message}\n`);
  };
}
