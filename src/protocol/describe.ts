/** Says what deleting a project removes, from its per-kind record counts (shared by the UI and the CLI). */
export function describeRecords(records: Readonly<Record<string, number>>): string {
  const parts = Object.entries(records)
    .filter(([, n]) => n > 0)
    .map(([kind, n]) => `${n} ${kind}`);
  return parts.length > 0 ? parts.join(', ') : 'no datasets, experiments, models, services or jobs';
}
