import type { SessionState } from '../api';
import type { Key, Lang } from '../i18n';

/** Ctx is what every screen needs from the shell. */
export interface Ctx {
  lang: Lang;
  session: SessionState | null;
  tr: (key: Key, params?: Record<string, string>) => string;
  /** navigate switches the main view and redraws. */
  navigate: (view: View) => void;
  /** applySession takes a new session state from the backend. */
  applySession: (s: SessionState) => void;
}

export type View = 'home' | 'enroll' | 'queue' | 'devices' | 'officers' | 'history';
