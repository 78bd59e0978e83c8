import { s } from './dom.js';

export interface Series {
  readonly name: string;
  readonly color: string;
  /** Drawn hatched: a quantity shown for comparison, not part of the bar's total. */
  readonly ghost?: boolean;
}

/** One bar: a value per series, stacked in series order. */
export type Bar = readonly number[];

export interface Row {
  readonly label: string;
  readonly bars: readonly Bar[];
}

const LABEL = 170;
const WIDTH = 460;
const VALUE = 90;
const BAR = 12;
const GAP = 8;
const LEGEND = 24;

const total = (bar: Bar, series: readonly Series[]) =>
  bar.reduce((n, v, i) => n + (series[i]?.ghost ? 0 : v), 0);

/**
 * A horizontal bar chart as SVG: one row per label, one or more bars per row, each bar stacked from
 * its series. The value printed beside a bar is the sum of its non-ghost series.
 */
export function barChart(
  rows: readonly Row[],
  series: readonly Series[],
  format: (v: number) => string,
): SVGSVGElement {
  const longest = Math.max(1e-12, ...rows.flatMap((r) => r.bars.map((b) => b.reduce((n, v) => n + v, 0))));
  const scale = WIDTH / longest;
  const height = LEGEND + rows.reduce((n, r) => n + r.bars.length * BAR + GAP, 0);
  const svg = s('svg', {
    class: 'chart',
    width: LABEL + WIDTH + VALUE,
    height,
    viewBox: `0 0 ${LABEL + WIDTH + VALUE} ${height}`,
    role: 'img',
  });
  svg.append(
    s(
      'defs',
      {},
      ...series.map((sr, i) =>
        s(
          'pattern',
          {
            id: `hatch-${i}`,
            width: 6,
            height: 6,
            patternUnits: 'userSpaceOnUse',
            patternTransform: 'rotate(45)',
          },
          s('rect', { width: 6, height: 6, fill: 'white' }),
          s('rect', { width: 3, height: 6, fill: sr.color }),
        ),
      ),
    ),
  );
  let x = 0;
  series.forEach((sr, i) => {
    const fill = sr.ghost ? `url(#hatch-${i})` : sr.color;
    svg.append(
      s('rect', { x, y: 4, width: 12, height: 12, fill, stroke: sr.color }),
      s('text', { x: x + 16, y: 14, class: 'legend' }, sr.name),
    );
    x += 28 + 7 * sr.name.length;
  });
  let y = LEGEND;
  for (const row of rows) {
    svg.append(
      s('text', { x: LABEL - 6, y: y + (row.bars.length * BAR) / 2 + 4, 'text-anchor': 'end' }, row.label),
    );
    for (const bar of row.bars) {
      let at = LABEL;
      bar.forEach((v, i) => {
        const sr = series[i]!;
        if (v <= 0) return;
        const w = Math.max(0.5, v * scale);
        svg.append(
          s(
            'rect',
            { x: at, y, width: w, height: BAR - 2, fill: sr.ghost ? `url(#hatch-${i})` : sr.color },
            s('title', {}, `${row.label} · ${sr.name}: ${format(v)}`),
          ),
        );
        at += w;
      });
      svg.append(s('text', { x: at + 4, y: y + BAR - 3, class: 'value' }, format(total(bar, series))));
      y += BAR;
    }
    y += GAP;
  }
  return svg;
}
