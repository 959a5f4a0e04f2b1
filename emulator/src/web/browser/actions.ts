/**
 * Running a control: the button is disabled meanwhile, the outcome is said in the controls'
 * status line, and the panels it may have changed are re-read (console.ts says which).
 */
import { el } from './dom';
import { t } from './lang';

export function notice(text: string): void {
  el('control-result').textContent = text;
}

let afterControl: () => void = () => undefined;

/** What runs after every control, done or failed (console.ts: re-read health and payments). */
export function setAfterControl(run: () => void): void {
  afterControl = run;
}

export async function control(
  label: string,
  run: () => Promise<unknown>,
  button: HTMLButtonElement,
): Promise<void> {
  button.disabled = true;
  try {
    await run();
    notice(t().done(label));
  } catch (err) {
    notice(t().failed(label, (err as Error).message));
  } finally {
    button.disabled = false;
    afterControl();
  }
}
