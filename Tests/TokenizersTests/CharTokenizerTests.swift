import Core
import Foundation
import TestSupport
import Tokenizers
import XCTest

final class CharTokenizerTests: XCTestCase {
    func testVocabularyIsSortedDistinctCharacters() throws {
        let tokenizer = try CharTokenizer(corpus: "hello, world\n")
        XCTAssertEqual(tokenizer.characters.map { String($0) }, ["\n", " ", ",", "d", "e", "h", "l", "o", "r", "w"])
        XCTAssertEqual(try tokenizer.encode("hold"), [5, 7, 6, 3])
        XCTAssertEqual(try tokenizer.decode([5, 4, 6, 6, 7]), "hello")
    }

    func testUnicodeRoundTripAndUnknownCharacter() throws {
        let text = "naïve 日本 🙂!"
        let tokenizer = try CharTokenizer(corpus: text)
        XCTAssertEqual(try tokenizer.decode(try tokenizer.encode(text)), text)
        XCTAssertThrowsError(try tokenizer.encode("naïveZ")) { error in
            XCTAssertEqual(error as? TokenizerError, .unknownCharacter("Z", offset: 5))
            XCTAssertTrue("\(error)".contains("\"Z\""))
        }
        XCTAssertThrowsError(try tokenizer.decodeBytes([tokenizer.vocabularySize]))
        XCTAssertThrowsError(try CharTokenizer(corpus: ""))
    }

    func testFileRoundTripAndCorruptFiles() throws {
        let directory = TemporaryDirectory()
        let tokenizer = try CharTokenizer(corpus: "abc\"\\\n")
        let path = directory.file("tokenizer.json")
        try TokenizerFile.save(tokenizer, to: path)
        XCTAssertEqual(try TokenizerFile.load(path) as? CharTokenizer, tokenizer)
        for (name, text) in [("empty", ""), ("not json", "hello"), ("no format", "{}"),
                             ("wrong version", #"{"format":"minigpt-char-tokenizer","version":9,"characters":["a"]}"#),
                             ("duplicate", #"{"format":"minigpt-char-tokenizer","version":1,"characters":["a","a"]}"#),
                             ("two characters", #"{"format":"minigpt-char-tokenizer","version":1,"characters":["ab"]}"#)] {
            XCTAssertThrowsError(try TokenizerFile.load(directory.write(text, to: name)), name)
        }
    }
}
