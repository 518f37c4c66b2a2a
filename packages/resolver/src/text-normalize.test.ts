import { describe, expect, it } from 'vitest';
import {
  compactText,
  containsWords,
  foldText,
  indelRatio,
  scriptsOf,
  sharesScript,
  splitArtistCredit,
  textSimilarity,
  tokenize,
  tokenSortRatio,
} from './text-normalize.js';

describe('foldText', () => {
  it('applies NFKC, case folding and Latin diacritics folding', () => {
    expect(foldText('Ｂｅｙｏｎｃé')).toBe('beyonce');
    expect(foldText('Sigur Rós – Hoppípolla')).toBe('sigur ros hoppipolla');
    expect(foldText('Straße')).toBe('strasse');
  });

  it('joins apostrophes and dots, turns other punctuation and & into words', () => {
    expect(foldText("Don't Stop Me Now")).toBe('dont stop me now');
    expect(foldText('B.o.B & Hayley Williams')).toBe('bob and hayley williams');
    expect(foldText('Harder, Better, Faster, Stronger!')).toBe('harder better faster stronger');
  });

  it('keeps marks that change non-Latin words (Devanagari matras, kana voicing)', () => {
    expect(foldText('तुम ही हो')).toBe('तुम ही हो');
    expect(foldText('ガ')).not.toBe(foldText('カ'));
    expect(foldText('Группа крови')).toBe('группа крови');
  });

  it('tokenizes and compacts', () => {
    expect(tokenize('  Mr. Brightside  ')).toEqual(['mr', 'brightside']);
    expect(compactText('Taylor Swift')).toBe('taylorswift');
    expect(tokenize('')).toEqual([]);
  });
});

describe('similarity', () => {
  it('indelRatio is 2·LCS/(|a|+|b|) over code points', () => {
    expect(indelRatio('abc', 'abc')).toBe(1);
    expect(indelRatio('abcd', 'abxd')).toBe(0.75);
    expect(indelRatio('', 'a')).toBe(0);
    expect(indelRatio('紅蓮華', '紅蓮')).toBeCloseTo(0.8);
  });

  it('ignores word order with tokenSortRatio', () => {
    expect(tokenSortRatio('Better Faster Harder', 'harder better faster')).toBe(1);
  });

  it('charges for extra words instead of accepting subsets', () => {
    expect(textSimilarity('Hello', 'Hello')).toBe(1);
    expect(textSimilarity('Hello', 'Hello Goodbye')).toBeLessThan(0.6);
    expect(textSimilarity('TaylorSwift', 'Taylor Swift')).toBe(1);
  });

  it('finds whole words and run-together names', () => {
    expect(containsWords('Adele - Hello (Official Video)', 'Adele')).toBe(true);
    expect(containsWords('Madeleine', 'Adele')).toBe(false);
    expect(containsWords('TaylorSwiftVEVO', 'Taylor Swift')).toBe(true);
    expect(containsWords('米津玄師MV', '米津玄師')).toBe(true);
    expect(containsWords('lavalamp', 'ava')).toBe(false);
  });
});

describe('scripts and credits', () => {
  it('tells writing systems apart', () => {
    expect([...scriptsOf('LiSA 紅蓮華')].sort()).toEqual(['cjk', 'latin']);
    expect([...scriptsOf('아이유')]).toEqual(['hangul']);
    expect([...scriptsOf('عمرو دياب')]).toEqual(['arabic']);
    expect(sharesScript('Kenshi Yonezu', '米津玄師')).toBe(false);
    expect(sharesScript('Кино', 'Группа крови')).toBe(true);
  });

  it('splits credits but keeps the whole name', () => {
    expect(splitArtistCredit('Rihanna, Bryson Tiller')).toEqual([
      'Rihanna, Bryson Tiller',
      'Rihanna',
      'Bryson Tiller',
    ]);
    expect(splitArtistCredit('Simon & Garfunkel')).toContain('Simon & Garfunkel');
    expect(splitArtistCredit('Rema x Selena Gomez')).toContain('Selena Gomez');
    expect(splitArtistCredit(' ')).toEqual([]);
  });
});
