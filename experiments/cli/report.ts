// `report`: the study's HTML report from a sweep directory.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { collectRegimes, collectSweep, regimesIn } from '../report/collect.js';
import { regimeReport } from '../report/regimes.js';
import { buildReport, findingSentence } from '../report/report.js';
import { parseArgs, UsageError } from './args.js';
import { STUDY_FILE } from './study.js';

export async function reportCommand(argv: string[]): Promise<void> {
  const args = parseArgs('report', 'Write a self-contained HTML report (SVG figures, captions comparing with the paper, a table of every run) from SWEEP_DIR.', {
    out: { type: 'string', metavar: 'FILE', description: 'HTML path (default SWEEP_DIR/report.html)' },
    title: { type: 'string', default: 'Class selectivity vs average- and worst-case robustness', description: 'report title' },
  }, argv, { positionals: ['SWEEP_DIR'] });
  if (!args) return;
  const dir = args._[0];
  if (!dir) throw new UsageError('report: give the sweep directory: report SWEEP_DIR');
  let collected;
  try {
    collected = await collectSweep(dir);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { runs, unfinished } = collected;
  if (runs.length === 0) throw new UsageError(`${dir}: no finished runs to report on${unfinished.length ? ` (${unfinished.length} still running: ${unfinished.join(', ')})` : ''}`);
  const notes = unfinished.length ? [`${unfinished.length} unfinished run(s) left out: ${unfinished.join(', ')}`] : [];
  const sections = [];
  // A study with robust regimes (DIR/regimes/<name>/) also gets the regime comparison; its train options come from study.json when the study wrote one.
  const regimes = regimesIn(dir);
  if (regimes.length > 1) {
    const groups = await collectRegimes(dir, regimes);
    const studyFile = join(dir, STUDY_FILE);
    let trainFlags;
    try {
      trainFlags = existsSync(studyFile) ? JSON.parse(readFileSync(studyFile, 'utf8')).regimes?.trainFlags : undefined;
    } catch (e) {
      throw new UsageError(`${studyFile}: cannot be read as JSON (${(e as Error).message})`);
    }
    sections.push(regimeReport(groups, { trainFlags }).section);
  }
  const { html, figures } = buildReport(runs, { title: args.title as string, source: dir, generated: new Date().toISOString(), notes, sections });
  const out = (args.out as string | undefined) ?? join(dir, 'report.html');
  await writeFileAtomic(out, html);
  for (const r of runs.filter((r) => r.missing.length)) console.log(`${r.name}: no ${r.missing.join(', ')}`);
  for (const f of figures.filter((f) => f.finding)) console.log(findingSentence(f.finding!));
  console.log(`report: ${figures.length} figures over ${runs.length} runs → ${out}`);
}
