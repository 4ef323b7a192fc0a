/// The four classes the GPT-2 and GPT-4 pre-split patterns distinguish: `\p{L}`, `\p{N}`, `\s` (Unicode
/// White_Space) and everything else. Bytes that are not valid UTF-8 count as `other`, one byte at a time.
enum CharacterClass: UInt8 {
    case letter = 0
    case number = 1
    case whitespace = 2
    case other = 3
}

/// Classifies scalars with one table per Unicode plane (a byte per code point, filled from the standard
/// library's Unicode properties the first time a plane is used: about 7 ms each). Only planes 0-3 hold
/// letters, numbers or whitespace in Unicode 16.0 (4-13 are unassigned, 14 has only format characters and
/// variation selectors, 15-16 are private use), and anything assigned after 16.0 counts as other anyway,
/// so planes 4-16 need no table.
enum CharacterClasses {
    static let plane0 = table(plane: 0)
    static let plane1 = table(plane: 1)
    static let plane2 = table(plane: 2)
    static let plane3 = table(plane: 3)

    private static func table(plane: UInt32) -> [CharacterClass] {
        var table = [CharacterClass](repeating: .other, count: 0x10000)
        for offset in 0..<UInt32(0x10000) {
            guard let scalar = Unicode.Scalar(plane << 16 | offset) else { continue }  // surrogates stay `other`
            table[Int(offset)] = classify(scalar)
        }
        return table
    }

    /// The newest Unicode version whose letters and numbers count as such. tiktoken 0.14's regex engine has
    /// Unicode 16.0 tables, so the 4,657 letters and numbers added in Unicode 17.0 are "other" there,
    /// as any unassigned code point is; matching that keeps GPT-2 ids equal to tiktoken's on every scalar
    /// (Fixtures/unicode_classes.json records tiktoken's classes; Python `regex` 2026.5.9 is already on 17.0).
    static let newestUnicodeMajorVersion = 16

    static func classify(_ scalar: Unicode.Scalar) -> CharacterClass {
        let properties = scalar.properties
        if let age = properties.age, age.major > newestUnicodeMajorVersion { return .other }
        if properties.isWhitespace { return .whitespace }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    @inline(__always)
    static func classOf(_ value: UInt32) -> CharacterClass {
        let offset = Int(value & 0xFFFF)
        switch value >> 16 {
        case 0: return plane0[offset]
        case 1: return plane1[offset]
        case 2: return plane2[offset]
        case 3: return plane3[offset]
        default: return .other
        }
    }
}

/// A decoded position in a byte buffer: the scalar's class, its value and how many bytes it spans.
struct ScannedCharacter {
    var characterClass: CharacterClass
    var value: UInt32
    var length: Int
}

/// Reads one UTF-8 sequence at `index` (which must be < `bytes.count`). A malformed or truncated
/// sequence yields a single byte of class `other`, so every input, valid UTF-8 or not, is covered.
@inline(__always)
func scanCharacter(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int) -> ScannedCharacter {
    let lead = bytes[index]
    if lead < 0x80 {
        return ScannedCharacter(characterClass: asciiClass(lead), value: UInt32(lead), length: 1)
    }
    let count = bytes.count
    var value: UInt32
    var length: Int
    var minimum: UInt32
    switch lead {
    case 0xC2...0xDF: value = UInt32(lead & 0x1F); length = 2; minimum = 0x80
    case 0xE0...0xEF: value = UInt32(lead & 0x0F); length = 3; minimum = 0x800
    case 0xF0...0xF4: value = UInt32(lead & 0x07); length = 4; minimum = 0x10000
    default: return ScannedCharacter(characterClass: .other, value: UInt32(lead), length: 1)
    }
    guard index + length <= count else { return ScannedCharacter(characterClass: .other, value: UInt32(lead), length: 1) }
    for offset in 1..<length {
        let byte = bytes[index + offset]
        guard byte & 0xC0 == 0x80 else { return ScannedCharacter(characterClass: .other, value: UInt32(lead), length: 1) }
        value = value << 6 | UInt32(byte & 0x3F)
    }
    guard value >= minimum, value <= 0x10FFFF, !(0xD800...0xDFFF).contains(value) else {
        return ScannedCharacter(characterClass: .other, value: UInt32(lead), length: 1)
    }
    return ScannedCharacter(characterClass: CharacterClasses.classOf(value), value: value, length: length)
}

@inline(__always)
func asciiClass(_ byte: UInt8) -> CharacterClass {
    switch byte {
    case 0x41...0x5A, 0x61...0x7A: return .letter
    case 0x30...0x39: return .number
    case 0x09...0x0D, 0x20: return .whitespace
    default: return .other
    }
}
