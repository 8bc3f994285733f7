// Column alignment with the semantics of Go's text/tabwriter (elastic tabstops), which kubectl uses:
// cells are tab-terminated, the last cell of a line is not aligned, and a column block is a run of
// consecutive lines that have a cell in that column. Left-aligned, padded with spaces.

export interface TabwriterOptions {
  minWidth: number;
  padding: number;
}

/** kubectl get: minwidth 6, padding 3. */
export const GET_TABLE: TabwriterOptions = { minWidth: 6, padding: 3 };
/** kubectl describe: minwidth 0, padding 2. */
export const DESCRIBE: TabwriterOptions = { minWidth: 0, padding: 2 };

/** Aligns tab-separated lines (no trailing newline handling: lines are given already split). */
export function alignColumns(lines: string[], opts: TabwriterOptions): string[] {
  const cells = lines.map((l) => l.split('\t'));
  const widths: number[] = [];
  const out: string[] = new Array<string>(lines.length);

  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const row = cells[i]!;
      let s = '';
      row.forEach((c, j) => {
        s += c;
        if (j < row.length - 1 && j < widths.length) s += ' '.repeat(Math.max(0, widths[j]! - [...c].length));
      });
      out[i] = s.replace(/\s+$/, '');
    }
  };

  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let i = line0; i < line1; i++) {
      if (column >= cells[i]!.length - 1) continue;
      writeLines(line0, i);
      line0 = i;
      let width = opts.minWidth;
      for (; i < line1; i++) {
        const row = cells[i]!;
        if (column >= row.length - 1) break;
        width = Math.max(width, [...row[column]!].length + opts.padding);
      }
      widths.push(width);
      format(line0, i);
      widths.pop();
      line0 = i;
      i--; // the for loop's increment must not skip line i
    }
    writeLines(line0, line1);
  };
  format(0, cells.length);
  return out;
}
