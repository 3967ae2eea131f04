// What a wizard step needs from the wizard shell (ui/enroll.ts): a step draws from the
// EnrollmentView it is given and acts through the shell, which owns the view and the redraw.
import type { Response } from '../../api';
import type { EnrollmentView, Errors } from '../../wizard';
import type { Ctx } from '../ctx';
import type { Key } from '../../i18n';

export interface StepIO {
  /** act calls an Enrollment method and redraws from the view it answers; false on a refusal. */
  act(method: string, ...args: unknown[]): Promise<boolean>;
  /** call calls an Enrollment method without touching the wizard's view. */
  call<T>(method: string, ...args: unknown[]): Promise<Response<T>>;
  /** message is the error the last action left on screen ('' when none). */
  message(): string;
  clearMessage(): void;
  redraw(): void;
  host(): HTMLElement | null;
}

/** A step draws itself from the current view. */
export type StepView = (ctx: Ctx, v: EnrollmentView, io: StepIO) => HTMLElement;

export function showErrors<F>(form: HTMLElement, ctx: Ctx, ids: (keyof F & string)[], errs: Errors<F>): boolean {
  for (const id of ids) {
    const el = form.querySelector<HTMLElement>(`#${id}-error`);
    const k = errs[id];
    if (el) el.textContent = k ? ctx.tr(k) : '';
  }
  return Object.keys(errs).length === 0;
}


/** busy disables the step's buttons while a device works and says what the citizen must do. */
export function busy(io: StepIO, ctx: Ctx, button: HTMLButtonElement, hint: Key, params: Record<string, string>): void {
  const host = io.host();
  if (!host) return;
  for (const b of host.querySelectorAll<HTMLButtonElement>('button')) b.disabled = true;
  const prompt = host.querySelector<HTMLElement>('#finger-prompt');
  if (prompt) {
    prompt.hidden = false;
    prompt.textContent = ctx.tr(hint, params);
  }
  button.setAttribute('aria-busy', 'true');
}
