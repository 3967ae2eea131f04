// The face step's live preview (desk/app FacePreview, event enroll:face-preview): the camera
// frame, the detected face box and one indicator per ICAO quality check. Pure state logic here;
// ui/steps/face.ts draws it and updates it in place as previews arrive (≤ 8 a second).
import type { Key } from './i18n';
import { isKey } from './i18n';

export type CheckStatus = 'pass' | 'fail' | 'not_measured';

/** PreviewCheck is one quality check with its measured value and bounds (biometric/face/quality). */
export interface PreviewCheck {
  name: string;
  value: number;
  min?: number;
  max?: number;
  unit: string;
  status: CheckStatus;
}

/** FacePreview is the enroll:face-preview event. Box is in the image's pixels. */
export interface FacePreview {
  phase: 'liveness' | 'capture';
  seq: number;
  image: string;
  width: number;
  height: number;
  box?: { x: number; y: number; w: number; h: number };
  faces: number;
  checks: PreviewCheck[];
  pass: boolean;
}

/** The order the indicators are listed in: who, where, pose, then the picture itself. */
export const CHECK_ORDER: readonly string[] = [
  'single_face',
  'inter_eye_distance',
  'yaw',
  'roll',
  'pitch',
  'centring',
  'margins',
  'sharpness',
  'brightness',
  'contrast',
  'illumination_uniformity',
  'eyes_open',
  'quality_score',
  'landmarks',
  'face_region',
];

/** Indicator is what one check's row shows; `sig` changes exactly when the row must be redrawn. */
export interface Indicator {
  name: string;
  label: Key | null;
  status: CheckStatus;
  value: string;
  bound: { key: Key; params: Record<string, string> } | null;
  sig: string;
}

/** digits is how many decimals a check's value is shown with, by its unit. */
function digits(unit: string): number {
  switch (unit) {
    case 'px':
    case 'faces':
    case '0-255':
      return 0;
    case 'deg':
    case 'score':
      return 1;
    default:
      return 2; // ratios, fractions of the frame, face widths
  }
}

export function formatValue(c: Pick<PreviewCheck, 'value' | 'unit'>): string {
  return c.value.toFixed(digits(c.unit));
}

/** boundOf says which bound the value must meet ("at least 90", "60 to 200"), or null. */
export function boundOf(c: PreviewCheck): Indicator['bound'] {
  const n = (x: number): string => x.toFixed(digits(c.unit));
  if (c.min !== undefined && c.max !== undefined) return { key: 'face.check.range', params: { min: n(c.min), max: n(c.max) } };
  if (c.min !== undefined) return { key: 'face.check.min', params: { min: n(c.min) } };
  if (c.max !== undefined) return { key: 'face.check.max', params: { max: n(c.max) } };
  return null;
}

/** indicators lists a preview's checks in CHECK_ORDER (unknown names last, in their order). */
export function indicators(p: Pick<FacePreview, 'checks'>): Indicator[] {
  const rank = (name: string): number => {
    const i = CHECK_ORDER.indexOf(name);
    return i < 0 ? CHECK_ORDER.length : i;
  };
  return [...p.checks]
    .map((c, i) => ({ c, i }))
    .sort((a, b) => rank(a.c.name) - rank(b.c.name) || a.i - b.i)
    .map(({ c }) => {
      const k = `face.check.${c.name}`;
      const value = c.status === 'not_measured' ? '—' : formatValue(c);
      const bound = boundOf(c);
      return {
        name: c.name,
        label: isKey(k) ? k : null,
        status: c.status,
        value,
        bound,
        sig: `${c.status}|${value}|${bound ? JSON.stringify(bound.params) : ''}`,
      };
    });
}

/** changedRows returns the names whose rows differ from what is drawn (by name → sig). */
export function changedRows(drawn: ReadonlyMap<string, string>, next: readonly Indicator[]): string[] {
  return next.filter((i) => drawn.get(i.name) !== i.sig).map((i) => i.name);
}

/** staleRows returns the drawn names the next preview no longer has (e.g. the face left). */
export function staleRows(drawn: ReadonlyMap<string, string>, next: readonly Indicator[]): string[] {
  const keep = new Set(next.map((i) => i.name));
  return [...drawn.keys()].filter((n) => !keep.has(n));
}

/**
 * boxPercent places the face box over the image in percentages of the image's size, so it stays
 * on the face whatever size the image is shown at; null without a box or with an empty image.
 */
export function boxPercent(p: Pick<FacePreview, 'box' | 'width' | 'height'>): { left: string; top: string; width: string; height: string } | null {
  if (!p.box || p.width <= 0 || p.height <= 0) return null;
  const pc = (v: number, of: number): string => `${((100 * v) / of).toFixed(2)}%`;
  const x = Math.max(0, p.box.x);
  const y = Math.max(0, p.box.y);
  const w = Math.min(p.box.w, p.width - x);
  const h = Math.min(p.box.h, p.height - y);
  if (w <= 0 || h <= 0) return null;
  return { left: pc(x, p.width), top: pc(y, p.height), width: pc(w, p.width), height: pc(h, p.height) };
}

/** summaryKey is the line under the preview: no face yet, the gate passes, or what to fix. */
export function summaryKey(p: Pick<FacePreview, 'box' | 'pass'>): Key {
  if (!p.box) return 'face.preview.noFace';
  return p.pass ? 'face.preview.pass' : 'face.preview.fail';
}
