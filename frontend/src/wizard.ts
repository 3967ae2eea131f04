// The enrollment wizard's state logic, free of the DOM: step order, which steps are reachable,
// and the checks the officer hears about before the backend runs them (the Go side checks the
// same rules again: desk/enroll).
import type { Key } from './i18n';
import { parseDate } from './format';

export type Step = 'card' | 'face' | 'fingers' | 'form' | 'review' | 'done';
export const STEPS: readonly Step[] = ['card', 'face', 'fingers', 'form', 'review'];

export interface CheckView {
  name: string;
  status: string;
}

export interface ChipView {
  idNumber: string;
  fullName: string;
  dateOfBirth: string;
  sex: string;
  nationality: string;
  ethnicity: string;
  placeOfOrigin: string;
  placeOfResidence: string;
  dateOfIssue: string;
  dateOfExpiry: string;
  photoUrl?: string;
  verdict: { pa: string; aa: string; ca: string; genuine: boolean };
  minor: boolean;
  checks: CheckView[] | null;
  access: string;
  apdus: number;
  refusal?: { code: string };
}

export interface FaceView {
  score: number;
  threshold: number;
  decision: string;
  liveness: string;
  reviewed: boolean;
  portraitUrl?: string;
}

/** FacePrompt is the enroll:face event: the liveness challenge while the camera captures. */
export interface FacePrompt {
  phase: 'liveness' | 'done';
  steps?: string[];
  /** the step being asked, or -1 when the camera does not report its progress */
  step: number;
}

export interface FingerView {
  position: number;
  quality?: number;
  decision?: string;
  exception?: string;
  /** A declared exception's evidence photo (data: URL, JPEG). */
  evidenceUrl?: string;
  /** The captured sensor image (data: URL, PNG). */
  imageUrl?: string;
}

/** DedupView is the 1:N search's outcome against the desk's galleries (no one is named). */
export interface DedupView {
  decision: string;
  gallerySize: number;
  candidates: number;
}

/** dedupKey sums up the de-duplication outcome. */
export function dedupKey(d: DedupView): Key {
  switch (d.decision) {
    case 'unique':
      return d.gallerySize === 0 ? 'dedup.first' : 'dedup.unique';
    case 'duplicate':
      return 'dedup.duplicate';
    default:
      return 'dedup.review';
  }
}

export interface FormInput {
  mobile: string;
  email: string;
  documents: string[];
  hasRepresentative: boolean;
  representativeId: string;
  representativeName: string;
  representativeMobile: string;
  relation: string;
  consent: boolean;
}

export interface EnrollmentView {
  active: boolean;
  step: Step;
  chip?: ChipView;
  face?: FaceView;
  fingers: FingerView[];
  form?: FormInput;
  problems: { step: string; code: string }[];
  dedup?: DedupView;
  recordId?: string;
  seq?: number;
  rejected?: string;
}

export interface CardKeyForm {
  can: string;
  idNumber: string;
  dateOfBirth: string;
  dateOfExpiry: string;
}

export const DOCUMENTS = [
  'health-insurance',
  'driving-licence',
  'social-insurance',
  'tax-code',
  'birth-certificate',
  'marriage-certificate',
] as const;

export const REJECT_REASONS = [
  'chip-not-genuine',
  'face-mismatch',
  'liveness-failed',
  'duplicate',
  'citizen-withdrew',
  'documents-incomplete',
  'other',
] as const;

/** The fingers the default policy asks for: right index (2) and left index (7), ISO/IEC 19794-2. */
export const REQUIRED_FINGERS = [2, 7] as const;

/** reachable tells whether the officer may jump to step: back always, forward only once a card is read. */
export function reachable(v: EnrollmentView, step: Step): boolean {
  if (v.step === 'done') return false;
  if (step === 'card') return true;
  return v.chip !== undefined && v.chip.refusal === undefined;
}

export function stepIndex(step: Step): number {
  return step === 'done' ? STEPS.length : STEPS.indexOf(step);
}

/** previous gives the step Esc goes back to, or null on the first step. */
export function previous(step: Step): Step | null {
  const i = stepIndex(step);
  return i > 0 && i < STEPS.length ? (STEPS[i - 1] ?? null) : null;
}

// Vietnamese mobile prefixes after the 2018 move to 10 digits (MIC plan 798/QĐ-BTTTT), the same
// list as desk/enroll.
const MOBILE_PREFIXES = new Set([
  '032', '033', '034', '035', '036', '037', '038', '039',
  '052', '055', '056', '058', '059',
  '070', '076', '077', '078', '079',
  '081', '082', '083', '084', '085', '086', '087', '088', '089',
  '090', '091', '092', '093', '094', '096', '097', '098', '099',
]);

/**
 * normalizeMobile accepts 0xxxxxxxxx, 84xxxxxxxxx or +84xxxxxxxxx with spaces, dots or dashes and
 * returns +84xxxxxxxxx (E.164), or null when it is not a Vietnamese mobile number.
 */
export function normalizeMobile(s: string): string | null {
  let d = s.trim().replace(/[\s.\-()]/g, '');
  if (d.startsWith('+84')) d = `0${d.slice(3)}`;
  else if (d.startsWith('84') && d.length === 11) d = `0${d.slice(2)}`;
  if (!/^0\d{9}$/.test(d)) return null;
  if (!MOBILE_PREFIXES.has(d.slice(0, 3))) return null;
  return `+84${d.slice(1)}`;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export type Errors<F> = Partial<Record<keyof F, Key>>;

/** validateCardKey: either a 6-digit CAN, or the ID number with both dates. */
export function validateCardKey(k: CardKeyForm): Errors<CardKeyForm> {
  const e: Errors<CardKeyForm> = {};
  if (k.can.trim() !== '') {
    if (!/^\d{6}$/.test(k.can.trim())) e.can = 'card.err.can';
    return e;
  }
  const id = k.idNumber.replace(/[\s.-]/g, '');
  if (!/^(\d{12}|\d{9})$/.test(id)) e.idNumber = 'card.err.id';
  if (!parseDate(k.dateOfBirth)) e.dateOfBirth = 'card.err.date';
  if (!parseDate(k.dateOfExpiry)) e.dateOfExpiry = 'card.err.date';
  return e;
}

/** validateForm checks the application form; minor forces a representative. */
export function validateForm(f: FormInput, minor: boolean): Errors<FormInput> {
  const e: Errors<FormInput> = {};
  if (!normalizeMobile(f.mobile)) e.mobile = 'form.err.mobile';
  if (f.email.trim() !== '' && !EMAIL.test(f.email.trim())) e.email = 'form.err.email';
  if (minor && !f.hasRepresentative) e.hasRepresentative = 'form.err.minor';
  if (f.hasRepresentative) {
    if (!/^\d{12}$/.test(f.representativeId.trim())) e.representativeId = 'form.err.repId';
    if (!normalizeMobile(f.representativeMobile)) e.representativeMobile = 'form.err.mobile';
  }
  if (!f.consent) e.consent = 'form.err.consent';
  return e;
}

/** verdictKey sums up the chip verdict in plain words. */
export function verdictKey(c: ChipView): Key {
  if (c.refusal?.code === 'clone' || c.verdict.aa === 'fail' || c.verdict.ca === 'fail') return 'verdict.clone';
  if (c.verdict.pa === 'fail') return 'verdict.forged';
  if (c.verdict.pa !== 'pass') return 'verdict.unproven';
  if (c.refusal) return 'verdict.idMismatch';
  return 'verdict.genuine';
}

/** problemKey maps a desk/enroll problem code to its translation. */
export function problemKey(code: string): Key {
  switch (code) {
    case 'card.missing':
      return 'problem.card';
    case 'face.missing':
      return 'problem.face';
    case 'face.liveness':
      return 'problem.liveness';
    case 'face.nomatch':
      return 'problem.nomatch';
    case 'face.review':
      return 'problem.faceReview';
    case 'fingers.policy':
      return 'problem.fingers';
    case 'dedup.missing':
      return 'problem.dedup';
    case 'dedup.duplicate':
      return 'problem.duplicate';
    case 'form.missing':
      return 'problem.form';
    default:
      return 'problem.other';
  }
}

/**
 * livenessPromptKeys lists what the citizen is asked to do, in order, for the challenge's head
 * turns (desk/app FacePrompt.steps): look straight, each turn, then straight again for the photo.
 */
export function livenessPromptKeys(steps: readonly string[]): Key[] {
  const turns = steps.flatMap((s): Key[] => (s === 'left' ? ['face.live.left'] : s === 'right' ? ['face.live.right'] : []));
  return ['face.live.straight', ...turns, 'face.live.hold'];
}

export interface FaceOutcome {
  key: Key;
  tone: 'ok' | 'bad' | 'warn';
  /** what the officer can do next, when the outcome blocks approval */
  help?: Key;
}

/** faceOutcome sums up a face capture: liveness first (a photo held up never "matches"), then the 1:1 decision. */
export function faceOutcome(f: FaceView): FaceOutcome {
  if (f.liveness !== 'pass') return { key: 'face.liveness', tone: 'bad', help: 'face.livenessHelp' };
  if (f.decision === 'match') return { key: 'face.match', tone: 'ok' };
  if (f.decision === 'no-match') return { key: 'face.nomatch', tone: 'bad', help: 'face.nomatchHelp' };
  return { key: 'face.review', tone: 'warn' };
}
