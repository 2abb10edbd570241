// The fleet picture: requests per second over time, served vs throttled, one panel per retry mode (Vega-Lite → SVG).
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { FleetResult } from './simulate.ts';

export function fleetChartSpec(results: FleetResult[], labels: Record<string, string>, tps: number): TopLevelSpec {
  const values = results.flatMap((r) => r.perSecond.flatMap((p) => [
    { mode: labels[r.mode] ?? r.mode, second: p.second, answer: 'served', requests: p.served },
    { mode: labels[r.mode] ?? r.mode, second: p.second, answer: 'throttled', requests: p.throttled },
  ]));
  const hosts = results[0]?.hosts ?? 0;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `${hosts.toLocaleString('en-US')} hosts booting within 10 s against SSM at ${tps} TPS: GetParameter requests per second`, anchor: 'start' },
    data: { values },
    facet: { row: { field: 'mode', type: 'nominal', title: null, sort: results.map((r) => labels[r.mode] ?? r.mode), header: { labelAngle: 0, labelAlign: 'left', labelAnchor: 'start', labelOrient: 'top', labelFontSize: 12 } } },
    spec: {
      width: 640,
      height: 110,
      mark: { type: 'bar', binSpacing: 0 },
      encoding: {
        x: { field: 'second', type: 'quantitative', title: 'seconds since the first boot', scale: { domain: [0, 100] }, bin: { step: 1 } },
        y: { field: 'requests', type: 'quantitative', aggregate: 'sum', stack: 'zero', title: 'requests/s' },
        color: { field: 'answer', type: 'nominal', title: null, scale: { domain: ['served', 'throttled'], range: ['#2b8a3e', '#e8590c'] } },
      },
    },
    resolve: { scale: { y: 'independent' } },
    config: { font: 'sans-serif', view: { stroke: '#ccc' } },
  } as TopLevelSpec;
}

/** Renders a Vega-Lite spec to SVG text in Node (no browser, no canvas: the SVG renderer only). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return `${svg}\n`;
}
