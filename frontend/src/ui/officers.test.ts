import { describe, expect, it } from 'vitest';
import { bioStatus, fingerRows } from './officers';

describe('bioStatus', () => {
  it('says not enrolled without a profile', () => {
    expect(bioStatus(undefined)).toEqual({ key: 'officers.bio.none', params: {} });
  });
  it('gives only the date while the desk is locked', () => {
    expect(bioStatus({ enrolled: '23/11/2026', by: 'gs.lan', sealed: true })).toEqual({ key: 'officers.bio.enrolled', params: { date: '23/11/2026' } });
  });
  it('counts the face descriptions and fingers once the profile is open', () => {
    expect(bioStatus({ enrolled: '23/11/2026', by: 'gs.lan', engines: ['facenet', 'dlib'], fingers: [2, 7] })).toEqual({
      key: 'officers.bio.detail',
      params: { date: '23/11/2026', faces: '2', fingers: '2' },
    });
  });
});

describe('fingerRows', () => {
  it('lists the policy fingers first, then other captures, each with its capture', () => {
    const rows = fingerRows({ positions: [2, 7], fingers: [{ position: 1, quality: 60 }, { position: 7, quality: 55, imageUrl: 'data:x' }] });
    expect(rows).toEqual([{ position: 2 }, { position: 7, quality: 55, imageUrl: 'data:x' }, { position: 1, quality: 60 }]);
  });
  it('drops positions outside 1..10', () => {
    expect(fingerRows({ positions: [0, 2, 11], fingers: [] })).toEqual([{ position: 2 }]);
  });
});
