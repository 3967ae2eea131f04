import { describe, expect, it } from 'vitest';
import { type FacePreview, boundOf, boxPercent, changedRows, formatValue, indicators, staleRows, summaryKey } from './facepreview';
import { TABLES } from './i18n';

const base: FacePreview = {
  phase: 'capture',
  seq: 7,
  image: 'data:image/jpeg;base64,',
  width: 320,
  height: 180,
  box: { x: 128, y: 50, w: 64, h: 64 },
  faces: 1,
  pass: false,
  checks: [
    { name: 'sharpness', value: 52.37, min: 40, unit: 'var(Laplacian)/(contrast/100)²', status: 'pass' },
    { name: 'single_face', value: 1, max: 1, unit: 'faces', status: 'pass' },
    { name: 'yaw', value: 14.26, max: 10, unit: 'deg', status: 'fail' },
    { name: 'brightness', value: 121.4, min: 60, max: 200, unit: '0-255', status: 'pass' },
    { name: 'eyes_open', value: 0, min: 0.17, unit: 'ratio', status: 'not_measured' },
    { name: 'new_check', value: 3, unit: 'x', status: 'pass' },
  ],
};

describe('indicators', () => {
  it('lists the checks in a fixed order, unknown ones last, each with its label key', () => {
    const got = indicators(base);
    expect(got.map((i) => i.name)).toEqual(['single_face', 'yaw', 'sharpness', 'brightness', 'eyes_open', 'new_check']);
    expect(got[0]?.label).toBe('face.check.single_face');
    expect(got.at(-1)?.label).toBeNull();
  });

  it('formats values by unit and says the bound to meet', () => {
    const [single, yaw, sharp, bright, eyes] = indicators(base);
    expect(single?.value).toBe('1');
    expect(yaw).toMatchObject({ value: '14.3', status: 'fail', bound: { key: 'face.check.max', params: { max: '10.0' } } });
    expect(sharp?.bound).toEqual({ key: 'face.check.min', params: { min: '40.00' } });
    expect(bright).toMatchObject({ value: '121', bound: { key: 'face.check.range', params: { min: '60', max: '200' } } });
    // A check the landmarks cannot measure shows no number, never a pass.
    expect(eyes).toMatchObject({ value: '—', status: 'not_measured' });
  });

  it('every known check and status has a label in both languages', () => {
    for (const lang of ['vi', 'en'] as const) {
      for (const i of indicators(base)) if (i.label) expect(TABLES[lang][i.label]).toBeTruthy();
      for (const s of ['pass', 'fail', 'not_measured']) expect(TABLES[lang][`face.check.status.${s}` as keyof (typeof TABLES)['vi']]).toBeTruthy();
    }
  });
});

describe('in-place updates', () => {
  it('redraws only the rows whose value, status or bound changed, and removes rows that went away', () => {
    const drawn = new Map(indicators(base).map((i) => [i.name, i.sig]));
    expect(changedRows(drawn, indicators(base))).toEqual([]);
    const next: FacePreview = {
      ...base,
      checks: base.checks
        .filter((c) => c.name !== 'new_check')
        .map((c) => (c.name === 'yaw' ? { ...c, value: 3.1, status: 'pass' as const } : c.name === 'sharpness' ? { ...c, value: 52.371 } : c)),
    };
    // 52.371 shows as 52.37 like before: no redraw for a change the officer cannot see.
    expect(changedRows(drawn, indicators(next))).toEqual(['yaw']);
    expect(staleRows(drawn, indicators(next))).toEqual(['new_check']);
  });
});

describe('face box', () => {
  it('is placed in percentages of the image, clipped to it', () => {
    expect(boxPercent(base)).toEqual({ left: '40.00%', top: '27.78%', width: '20.00%', height: '35.56%' });
    expect(boxPercent({ ...base, box: { x: 300, y: 170, w: 64, h: 64 } })).toEqual({ left: '93.75%', top: '94.44%', width: '6.25%', height: '5.56%' });
    expect(boxPercent({ ...base, box: undefined })).toBeNull();
    expect(boxPercent({ ...base, width: 0 })).toBeNull();
  });
});

describe('summary', () => {
  it('says no face, pass or fail', () => {
    expect(summaryKey({ box: undefined, pass: false })).toBe('face.preview.noFace');
    expect(summaryKey({ box: base.box, pass: true })).toBe('face.preview.pass');
    expect(summaryKey({ box: base.box, pass: false })).toBe('face.preview.fail');
  });
  it('formats plain values', () => {
    expect(formatValue({ value: 0.4567, unit: 'ratio' })).toBe('0.46');
    expect(boundOf({ name: 'x', value: 1, unit: 'px', status: 'pass' })).toBeNull();
  });
});
