/** One text to scan, from any source, and where its lines sit in the original. */
export interface ScanSource {
  /** As reports show it: relative, forward slashes (`stdin` for standard input). */
  file: string;
  text: string;
  /** Size in bytes, for the throughput summary. */
  bytes: number;
  /** Line number of the text's first line in the file (history hunks); default 1. */
  firstLine?: number;
  /** Set for history: the commit that added these lines, and its author date (ISO 8601). */
  commit?: string;
  authorDate?: string;
}

export type SkipReason = 'binary' | 'too-large' | 'unreadable';
