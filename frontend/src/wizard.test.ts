import { describe, expect, it } from 'vitest';
import {
  type ChipView,
  dedupKey,
  faceOutcome,
  livenessPromptKeys,
  type EnrollmentView,
  type FormInput,
  normalizeMobile,
  previous,
  problemKey,
  reachable,
  stepIndex,
  validateCardKey,
  validateForm,
  verdictKey,
} from './wizard';

describe('normalizeMobile', () => {
  it.each([
    ['0912345678', '+84912345678'],
    ['0912 345 678', '+84912345678'],
    ['0912.345.678', '+84912345678'],
    ['+84 912 345 678', '+84912345678'],
    ['84912345678', '+84912345678'],
    ['0326-123-456', '+84326123456'],
    ['0862345678', '+84862345678'],
  ])('accepts %s', (input, want) => {
    expect(normalizeMobile(input)).toBe(want);
  });
  it.each([
    ['0212345678', 'landline prefix 021'],
    ['091234567', '9 digits'],
    ['09123456789', '11 digits'],
    ['0952345678', '095 is not allocated'],
    ['+1 912 345 678', 'foreign'],
    ['0912a45678', 'a letter'],
    ['', 'empty'],
  ])('refuses %s (%s)', (input) => {
    expect(normalizeMobile(input)).toBeNull();
  });
});

describe('validateCardKey', () => {
  it('accepts a CAN alone, or an ID number with both dates', () => {
    expect(validateCardKey({ can: '482915', idNumber: '', dateOfBirth: '', dateOfExpiry: '' })).toEqual({});
    expect(
      validateCardKey({ can: '', idNumber: '001199012345', dateOfBirth: '15/03/1999', dateOfExpiry: '15/03/2024' }),
    ).toEqual({});
  });
  it('flags each wrong field', () => {
    expect(validateCardKey({ can: '48291', idNumber: '', dateOfBirth: '', dateOfExpiry: '' })).toEqual({ can: 'card.err.can' });
    expect(
      validateCardKey({ can: '', idNumber: '00119901234', dateOfBirth: '30/02/1999', dateOfExpiry: 'x' }),
    ).toEqual({ idNumber: 'card.err.id', dateOfBirth: 'card.err.date', dateOfExpiry: 'card.err.date' });
  });
});

describe('validateForm', () => {
  const good: FormInput = {
    mobile: '0912 345 678',
    email: '',
    documents: [],
    hasRepresentative: false,
    representativeId: '',
    representativeName: '',
    representativeMobile: '',
    relation: '',
    consent: true,
  };
  it('accepts a minimal adult form', () => {
    expect(validateForm(good, false)).toEqual({});
  });
  it('needs consent, a mobile number and a valid e-mail when given', () => {
    expect(validateForm({ ...good, consent: false, mobile: '123', email: 'a@b' }, false)).toEqual({
      consent: 'form.err.consent',
      mobile: 'form.err.mobile',
      email: 'form.err.email',
    });
  });
  it('makes a minor name a representative with a 12-digit ID and a mobile number', () => {
    expect(validateForm(good, true)).toEqual({ hasRepresentative: 'form.err.minor' });
    expect(validateForm({ ...good, hasRepresentative: true, representativeId: '0011', representativeMobile: '0212345678' }, true)).toEqual({
      representativeId: 'form.err.repId',
      representativeMobile: 'form.err.mobile',
    });
    expect(
      validateForm({ ...good, hasRepresentative: true, representativeId: '001099012345', representativeMobile: '0987654321' }, true),
    ).toEqual({});
  });
});

const chip = (over: Partial<ChipView> = {}): ChipView => ({
  idNumber: '001199012345',
  fullName: 'Nguyễn Thị Hương',
  dateOfBirth: '15/03/1999',
  sex: 'Nữ',
  nationality: 'Việt Nam',
  ethnicity: 'Kinh',
  placeOfOrigin: '',
  placeOfResidence: '',
  dateOfIssue: '',
  dateOfExpiry: '',
  verdict: { pa: 'pass', aa: 'absent', ca: 'pass', genuine: true },
  minor: false,
  checks: [],
  access: 'PACE',
  apdus: 12,
  ...over,
});

describe('verdictKey', () => {
  it('says genuine only when passive authentication passed and nothing failed', () => {
    expect(verdictKey(chip())).toBe('verdict.genuine');
    expect(verdictKey(chip({ verdict: { pa: 'fail', aa: 'absent', ca: 'absent', genuine: false } }))).toBe('verdict.forged');
    expect(verdictKey(chip({ verdict: { pa: 'absent', aa: 'absent', ca: 'absent', genuine: false } }))).toBe('verdict.unproven');
    expect(verdictKey(chip({ verdict: { pa: 'pass', aa: 'fail', ca: 'pass', genuine: false } }))).toBe('verdict.clone');
    expect(verdictKey(chip({ refusal: { code: 'id' } }))).toBe('verdict.idMismatch');
  });
});

describe('wizard navigation', () => {
  const v = (over: Partial<EnrollmentView>): EnrollmentView => ({ active: true, step: 'card', fingers: [], problems: [], ...over });
  it('reaches later steps only after a proven chip', () => {
    expect(reachable(v({}), 'card')).toBe(true);
    expect(reachable(v({}), 'face')).toBe(false);
    expect(reachable(v({ chip: chip() }), 'review')).toBe(true);
    expect(reachable(v({ chip: chip({ refusal: { code: 'pa' } }) }), 'face')).toBe(false);
    expect(reachable(v({ chip: chip(), step: 'done' }), 'card')).toBe(false);
  });
  it('goes back one step on Esc, not before the first nor after the end', () => {
    expect(previous('card')).toBeNull();
    expect(previous('face')).toBe('card');
    expect(previous('review')).toBe('form');
    expect(previous('done')).toBeNull();
    expect(stepIndex('done')).toBe(5);
  });
  it('translates every problem code desk/enroll emits, and unknown ones generically', () => {
    for (const code of ['card.missing', 'face.missing', 'face.liveness', 'face.nomatch', 'face.review', 'fingers.policy', 'dedup.missing', 'dedup.duplicate', 'form.missing']) {
      expect(problemKey(code)).not.toBe('problem.other');
    }
    expect(problemKey('something.new')).toBe('problem.other');
  });
});

describe('livenessPromptKeys', () => {
  it('asks for a straight look, each turn in order, then straight again', () => {
    expect(livenessPromptKeys(['left', 'right'])).toEqual(['face.live.straight', 'face.live.left', 'face.live.right', 'face.live.hold']);
    expect(livenessPromptKeys(['right'])).toEqual(['face.live.straight', 'face.live.right', 'face.live.hold']);
  });
  it('ignores a step it has no words for', () => {
    expect(livenessPromptKeys(['nod'])).toEqual(['face.live.straight', 'face.live.hold']);
  });
});

describe('faceOutcome', () => {
  const f = { score: 0.3, threshold: 0.4, decision: 'match', liveness: 'pass', reviewed: false };
  it('puts a failed liveness check first, with what to do', () => {
    expect(faceOutcome({ ...f, liveness: 'fail' })).toEqual({ key: 'face.liveness', tone: 'bad', help: 'face.livenessHelp' });
  });
  it('maps the 1:1 decision', () => {
    expect(faceOutcome(f)).toEqual({ key: 'face.match', tone: 'ok' });
    expect(faceOutcome({ ...f, decision: 'no-match' })).toEqual({ key: 'face.nomatch', tone: 'bad', help: 'face.nomatchHelp' });
    expect(faceOutcome({ ...f, decision: 'review' }).tone).toBe('warn');
  });
});

describe('dedupKey', () => {
  it('maps the search decision', () => {
    expect(dedupKey({ decision: 'unique', gallerySize: 3, candidates: 0 })).toBe('dedup.unique');
    expect(dedupKey({ decision: 'unique', gallerySize: 0, candidates: 0 })).toBe('dedup.first');
    expect(dedupKey({ decision: 'duplicate', gallerySize: 3, candidates: 1 })).toBe('dedup.duplicate');
    expect(dedupKey({ decision: 'review', gallerySize: 3, candidates: 2 })).toBe('dedup.review');
  });
});
