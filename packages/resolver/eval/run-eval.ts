/**
 * `npm run eval -w @nexstream/resolver`: runs the labeled cases in `eval/cases` through the match scorer of
 * the built package and prints a table per trap group, a sweep of the `strong` threshold, the misses, and as
 * its last line one JSON object with the figures (ours and the "first search result" baseline).
 * Build first: `npx turbo run build --filter=@nexstream/resolver`.
 */
import { defaultMatchThresholds, rankCandidates } from '@nexstream/resolver';
import { mapMusicSearch } from '@nexstream/resolver/engines';
import { type EvalFigures, evaluate, loadEvalGroups, type RankFunction } from './evaluate.ts';

const rank: RankFunction = (track, candidates, options) => rankCandidates(track, candidates, options);
const groups = loadEvalGroups(mapMusicSearch);
const report = evaluate(groups, rank);

const percent = (value: number) => `${(value * 100).toFixed(1)}%`.padStart(7);
const columns = ['group', 'cases', 'P@1', 'wrong', 'cover', 'fz-wrong', 'base P@1', 'base wrong'];
const widths = [18, 6, 7, 7, 7, 9, 9, 11];
const line = (cells: string[]) => cells.map((cell, index) => cell.padStart(widths[index] ?? 8)).join(' ');
const row = (name: string, figures: EvalFigures) =>
  line([
    name,
    String(figures.cases),
    percent(figures.precision_at_1),
    percent(figures.wrong_accept_rate),
    percent(figures.coverage),
    percent(figures.fuzzy_wrong_accept_rate),
    percent(figures.baseline_precision_at_1),
    percent(figures.baseline_wrong_accept_rate),
  ]);

console.log('Match scorer evaluation: accepted = first-ranked candidate with grade strong or better.');
console.log('P@1 and cover are over cases with an acceptable video; wrong rates over all cases.\n');
console.log(line(columns));
for (const { group, figures } of report.groups) console.log(row(group, figures));
console.log(row('ALL', report.overall));

console.log('\nSweep of the strong threshold (exact stays at max(strong, default exact)):');
console.log('(wrong cand / ok cand: share of ALL wrong / acceptable candidates graded strong or better)');
console.log(line(['strong ≥', 'wrong', 'cover', 'P@1', 'wrong cand', 'ok cand']));
for (let step = 70; step <= 96; step += 2) {
  const strong = step / 100;
  const sweep = evaluate(groups, rank, {
    scoreOptions: { thresholds: { strong, exact: Math.max(strong, defaultMatchThresholds.exact) } },
  }).overall;
  console.log(
    line([
      strong.toFixed(2) + (strong === defaultMatchThresholds.strong ? ' *' : ''),
      percent(sweep.wrong_accept_rate),
      percent(sweep.coverage),
      percent(sweep.precision_at_1),
      percent(sweep.wrong_candidates_at_settle),
      percent(sweep.acceptable_candidates_at_settle),
    ]),
  );
}

if (report.misses.length > 0) {
  console.log(`\nMisses (${report.misses.length}):`);
  for (const miss of report.misses) {
    console.log(`- ${miss.group}/${miss.caseId} ${miss.kind}: ${miss.pick} → ${miss.grade} ${miss.score}`);
    console.log(`    ${miss.reasons.join('; ')}`);
  }
}

const { overall } = report;
console.log(
  JSON.stringify({
    cases: overall.cases,
    precision_at_1: overall.precision_at_1,
    wrong_accept_rate: overall.wrong_accept_rate,
    coverage: overall.coverage,
    baseline_precision_at_1: overall.baseline_precision_at_1,
    baseline_wrong_accept_rate: overall.baseline_wrong_accept_rate,
    baseline_coverage: overall.baseline_coverage,
    settle_grade: 'strong',
    answerable: overall.answerable,
    fuzzy_wrong_accept_rate: overall.fuzzy_wrong_accept_rate,
    fuzzy_coverage: overall.fuzzy_coverage,
    unlabeled_accepts: overall.unlabeled_accepts,
    wrong_candidates_at_settle: overall.wrong_candidates_at_settle,
    acceptable_candidates_at_settle: overall.acceptable_candidates_at_settle,
    baseline_first_song_precision_at_1: overall.baseline_first_song_precision_at_1,
    // null until a group marked `frozen` exists (cases scored only after the rules were frozen).
    frozen_precision_at_1: report.frozen?.precision_at_1 ?? null,
    frozen_cases: report.frozen?.cases ?? 0,
    min_script_group_coverage: Math.min(...Object.values(report.scripts).map((entry) => entry.coverage)),
    script_groups: Object.fromEntries(
      Object.entries(report.scripts).map(([script, entry]) => [script, entry.coverage]),
    ),
  }),
);
