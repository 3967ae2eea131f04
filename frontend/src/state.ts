// The window's state logic, free of the DOM so Vitest can test it: which screen to show, how a
// backend fault reads to the officer, and the first-start form's checks (the same rules the Go
// side enforces, so the officer hears about a mistake before the argon2id work starts).
import type { Fault, SessionState } from './api';
import { formatDate, formatTime } from './format';
import { type Key, type Lang, isKey, t } from './i18n';

export type Screen = 'loading' | 'provision' | 'login' | 'home';

export function screenFor(s: SessionState | null): Screen {
  if (!s) return 'loading';
  if (!s.provisioned) return 'provision';
  if (!s.officer) return 'login';
  return 'home';
}

/** faultMessage turns a backend fault into the officer's language, with what to do next. */
export function faultMessage(lang: Lang, f: Fault | undefined): string {
  if (!f) return t(lang, 'error.internal');
  if (f.code === 'locked') {
    const until = new Date(f.params?.until ?? '');
    if (!Number.isNaN(until.getTime())) {
      return t(lang, 'error.locked', { time: formatTime(until), date: formatDate(until) });
    }
  }
  if (f.params?.device) {
    const k = `error.${f.code}.${f.params.device}`;
    if (isKey(k)) return t(lang, k);
  }
  if (f.code === 'invalid' && f.params?.field) {
    const k = fieldKey(f.params.field);
    if (k) return t(lang, k);
  }
  const key = `error.${f.code}`;
  return isKey(key) ? t(lang, key) : t(lang, 'error.internal');
}

function fieldKey(field: string): Key | null {
  switch (field) {
    case 'passphrase':
      return 'field.passphraseShort';
    case 'officerId':
      return 'field.officerId';
    case 'name':
      return 'field.name';
    case 'pin':
      return 'field.pin';
    default:
      return null;
  }
}

export interface ProvisionForm {
  passphrase: string;
  passphrase2: string;
  supervisorId: string;
  supervisorName: string;
  pin: string;
  pin2: string;
}

export type FieldErrors<F> = Partial<Record<keyof F, Key>>;

export const OFFICER_ID = /^[A-Za-z0-9._-]{2,32}$/;
export const PIN = /^[0-9]{6,12}$/;
export const MIN_PASSPHRASE = 12;

/** validateProvision checks the first-start form; an empty result means it may be sent. */
export function validateProvision(f: ProvisionForm): FieldErrors<ProvisionForm> {
  const e: FieldErrors<ProvisionForm> = {};
  if ([...f.passphrase].length < MIN_PASSPHRASE) e.passphrase = 'field.passphraseShort';
  if (f.passphrase2 !== f.passphrase) e.passphrase2 = 'field.passphraseMismatch';
  if (!OFFICER_ID.test(f.supervisorId)) e.supervisorId = 'field.officerId';
  const name = [...f.supervisorName.trim()].length;
  if (name < 2 || name > 80) e.supervisorName = 'field.name';
  if (!PIN.test(f.pin)) e.pin = 'field.pin';
  if (f.pin2 !== f.pin) e.pin2 = 'field.pinMismatch';
  return e;
}

/** loginReady tells whether the login form may be sent (the backend still checks everything). */
export function loginReady(officerId: string, pin: string): boolean {
  return officerId.trim() !== '' && pin !== '';
}

/** QueueStatus is desk/app's QueueStatus: the queue and sync panel's data. */
export interface QueueStatus {
  queued: number;
  sent: number;
  acked: number;
  lastSynced?: string;
  lastAttempt?: string;
  lastError?: string;
  problem?: string;
  reason?: string;
  syncing?: boolean;
  retryIn?: number;
  uploading: boolean;
}

const SYNC_REASONS = [
  'bad-request',
  'too-large',
  'unknown-desk',
  'desk-mismatch',
  'bad-signature',
  'bad-record',
  'bad-blob',
  'order',
  'broken-chain',
  'gap',
  'fork',
  'duplicate-id',
  'unavailable',
] as const;

/**
 * syncProblemMessage says why the last sync failed in the officer's language, or null when it
 * did not fail. The raw error stays in the panel's technical details only.
 */
export function syncProblemMessage(lang: Lang, q: QueueStatus): string | null {
  switch (q.problem) {
    case undefined:
    case '':
      return null;
    case 'unreachable':
    case 'timeout':
    case 'tls':
      return t(lang, `queue.problem.${q.problem}`);
    case 'refused': {
      const r = (SYNC_REASONS as readonly string[]).includes(q.reason ?? '') ? (q.reason as (typeof SYNC_REASONS)[number]) : 'other';
      return t(lang, 'queue.problem.refused', { reason: t(lang, `sync.reason.${r}`) });
    }
    default:
      return t(lang, 'queue.problem.other');
  }
}
