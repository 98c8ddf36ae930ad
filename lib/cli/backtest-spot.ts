/**
 * The spot scenario's flags of `prescale backtest`: `--spot-interruptions SEED`
 * turns it on, `--spot-share F` (only with it) sets the spot part of the fleet.
 */
import { ValidationError } from '../errors.ts';
import { DEFAULT_SPOT_SHARE } from '../sim/traffic-backtest.ts';

export const SPOT_HELP = `  --spot-interruptions SEED  also simulate an on-demand and a spot group behind one ALB rule, with seeded
                        spot interruptions (2-minute notice) and the reweight run every minute: adds
                        summary.json "traffic", weights.csv and a weights chart
  --spot-share F        share of the fleet on spot, 0..1 [${DEFAULT_SPOT_SHARE}]
`;

/** Undefined without `--spot-interruptions`; a usage error names the flag. */
export function parseSpotFlags(seedText: string | undefined, shareText: string | undefined): { readonly seed: number; readonly spotShare: number } | undefined {
  if (seedText === undefined) {
    if (shareText !== undefined) throw new ValidationError('options', ['--spot-share needs --spot-interruptions SEED']);
    return undefined;
  }
  const problems: string[] = [];
  const seed = Number(seedText);
  if (seedText.trim() === '' || !Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) problems.push(`--spot-interruptions must be an integer seed in [0, 4294967295] (got "${seedText}")`);
  const spotShare = shareText === undefined ? DEFAULT_SPOT_SHARE : Number(shareText);
  if ((shareText !== undefined && shareText.trim() === '') || !(spotShare >= 0 && spotShare <= 1)) problems.push(`--spot-share must be a number between 0 and 1 (got "${shareText}")`);
  if (problems.length > 0) throw new ValidationError('options', problems);
  return { seed, spotShare };
}
