// A small uPlot time-series chart that redraws its data in place.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Series { label: string; values: (number | null)[]; color: string }

export function Chart({ title, xs, series }: { title: string; xs: number[]; series: Series }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const el = box.current!;
    const width = () => Math.max(260, Math.min(el.clientWidth || 600, 900));
    plot.current = new uPlot({
      width: width(), height: 180,
      series: [{}, { label: series.label, stroke: series.color, width: 2, fill: `${series.color}22`, spanGaps: false }],
      axes: [{}, { size: 40 }],
      scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      legend: { show: true },
    }, [xs, series.values], el);
    const resize = () => plot.current?.setSize({ width: width(), height: 180 });
    addEventListener("resize", resize);
    return () => { removeEventListener("resize", resize); plot.current?.destroy(); plot.current = null; };
  }, []);
  useEffect(() => { plot.current?.setData([xs, series.values]); }, [xs, series]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}: ${series.values.filter((v) => v !== null).reduce((a, b) => (a ?? 0) + (b ?? 0), 0)} in the last hour`} />
    </figure>
  );
}
