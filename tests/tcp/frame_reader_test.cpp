// FrameReader: lines and length-prefixed frames out of a byte stream that
// arrives in arbitrary pieces, with limits that hold.
#include <doctest/doctest.h>

#include <string>

#include <respool/tcp.hpp>

using respool::tcp::FrameReader;
using Status = FrameReader::Status;

TEST_CASE("lines")
{
    FrameReader r(8, 1024);
    std::string out;
    SUBCASE("LF and CRLF endings, several per chunk, one split across chunks")
    {
        r.append("one\ntwo\r\nthr");
        CHECK(r.next_line(out) == Status::ok);
        CHECK(out == "one");
        CHECK(r.next_line(out) == Status::ok);
        CHECK(out == "two");
        CHECK(r.next_line(out) == Status::need_more);
        r.append("ee\n\n");
        CHECK(r.next_line(out) == Status::ok);
        CHECK(out == "three");
        CHECK(r.next_line(out) == Status::ok);
        CHECK(out.empty());
        CHECK(r.buffered() == 0);
    }
    SUBCASE("a line of exactly max_line_length passes, with or without CR")
    {
        r.append("12345678\n12345678\r\n");
        CHECK(r.next_line(out) == Status::ok);
        CHECK(out == "12345678");
        CHECK(r.next_line(out) == Status::ok);
        CHECK(out == "12345678");
    }
    SUBCASE("one byte more is too long, before and after the newline arrives")
    {
        r.append("123456789");
        CHECK(r.next_line(out) == Status::need_more);  // undecided until the next byte
        r.append("0");
        CHECK(r.next_line(out) == Status::too_long);
        FrameReader r2(8, 1024);
        r2.append("123456789\n");
        CHECK(r2.next_line(out) == Status::too_long);
        CHECK(r2.buffered() == 10);  // nothing consumed
    }
    SUBCASE("byte-by-byte arrival")
    {
        for (char c : std::string("ab\r\ncd\n")) r.append(std::string(1, c));
        CHECK(r.next_line(out) == Status::ok);
        CHECK(out == "ab");
        CHECK(r.next_line(out) == Status::ok);
        CHECK(out == "cd");
    }
}

TEST_CASE("frames")
{
    FrameReader r(64, 16);
    std::string out;
    SUBCASE("encode and decode, split anywhere")
    {
        std::string stream = FrameReader::encode_frame("hello") + FrameReader::encode_frame("") +
                             FrameReader::encode_frame(std::string("\0\n\xff", 3));
        for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
            FrameReader fr(64, 16);
            fr.append(stream.substr(0, cut));
            std::vector<std::string> got;
            while (fr.next_frame(out) == Status::ok) got.push_back(out);
            fr.append(stream.substr(cut));
            while (fr.next_frame(out) == Status::ok) got.push_back(out);
            REQUIRE(got.size() == 3);
            CHECK(got[0] == "hello");
            CHECK(got[1].empty());
            CHECK(got[2] == std::string("\0\n\xff", 3));
            CHECK(fr.buffered() == 0);
        }
    }
    SUBCASE("the prefix is big-endian")
    {
        CHECK(FrameReader::encode_frame(std::string(258, 'x')).substr(0, 4) == std::string("\0\0\x01\x02", 4));
    }
    SUBCASE("a length over the limit is too long at once, without waiting for the payload")
    {
        r.append(std::string("\0\0\0\x11", 4));
        CHECK(r.next_frame(out) == Status::too_long);
        FrameReader huge(64, 16);
        huge.append("\xff\xff\xff\xff");
        CHECK(huge.next_frame(out) == Status::too_long);
    }
    SUBCASE("a length exactly at the limit is fine")
    {
        r.append(FrameReader::encode_frame(std::string(16, 'y')));
        CHECK(r.next_frame(out) == Status::ok);
        CHECK(out == std::string(16, 'y'));
    }
    SUBCASE("take drains raw bytes after a frame")
    {
        r.append(FrameReader::encode_frame("ab") + "rest");
        CHECK(r.next_frame(out) == Status::ok);
        char buf[8];
        CHECK(r.take(buf, sizeof buf) == 4);
        CHECK(std::string(buf, 4) == "rest");
        CHECK(r.take(buf, sizeof buf) == 0);
    }
}

TEST_CASE("a long stream does not keep consumed bytes")
{
    FrameReader r(64, 1024);
    std::string out;
    for (int i = 0; i < 100000; ++i) {
        r.append(FrameReader::encode_frame("payload-" + std::to_string(i)));
        REQUIRE(r.next_frame(out) == Status::ok);
        REQUIRE(out == "payload-" + std::to_string(i));
    }
    CHECK(r.buffered() == 0);
}
