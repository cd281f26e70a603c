/** The bytes the CSV readers look for, named once. */
export const TAB = 0x09;
export const NEWLINE = 0x0a;
export const CR = 0x0d;
export const SPACE = 0x20;
export const QUOTE = 0x22;
export const PLUS = 0x2b;
export const COMMA = 0x2c;
export const MINUS = 0x2d;
export const DOT = 0x2e;
export const DIGIT_0 = 0x30;
export const COLON = 0x3a;
export const BOM = [0xef, 0xbb, 0xbf] as const;
