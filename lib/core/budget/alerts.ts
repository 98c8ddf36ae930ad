/**
 * Budget alerts at fixed percentages of the monthly cap, each sent once per
 * month. The ledger remembers which were sent (`alertsSentPercents`); this
 * decides which are due now.
 */

export const DEFAULT_ALERT_PERCENTS: readonly number[] = [50, 80, 100];

/** Month-to-date spend as a percent of the cap. */
export function spendPercentOf(monthToDateUsd: number, monthlyUsd: number): number {
  return monthlyUsd > 0 ? (monthToDateUsd / monthlyUsd) * 100 : 0;
}

/**
 * Thresholds reached and not yet sent this month, ascending. When spend jumps
 * past several at once all are returned, so all are recorded as sent; the
 * caller posts one message for the highest (`highestAlert`).
 */
export function budgetAlerts(previousAlertsSent: readonly number[], spendPercent: number, alertPercents: readonly number[] = DEFAULT_ALERT_PERCENTS): number[] {
  const sent = new Set(previousAlertsSent);
  return [...new Set(alertPercents)].filter((percent) => spendPercent >= percent && !sent.has(percent)).sort((a, b) => a - b);
}

export function highestAlert(percents: readonly number[]): number | undefined {
  return percents.length === 0 ? undefined : Math.max(...percents);
}
