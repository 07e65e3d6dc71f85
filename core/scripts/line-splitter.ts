// Splits a byte stream into bounded lines (an endless line without "\n" is flushed in
// pieces rather than growing memory).
import { MAX_LINE_BYTES, MAX_PARTIAL_BYTES } from './limits';

export class LineSplitter {
  private partial = '';

  constructor(private readonly emit: (line: string) => void) {}

  push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const p of parts) this.emit(cut(p));
    if (this.partial.length > MAX_PARTIAL_BYTES) this.flush();
  }

  flush(): void {
    if (this.partial !== '') this.emit(cut(this.partial));
    this.partial = '';
  }
}

function cut(line: string): string {
  const noCr = line.endsWith('\r') ? line.slice(0, -1) : line;
  return noCr.length > MAX_LINE_BYTES ? `${noCr.slice(0, MAX_LINE_BYTES)}…[cut ${noCr.length - MAX_LINE_BYTES} chars]` : noCr;
}
