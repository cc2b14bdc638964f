// runtime/data/jpeg.cc — libjpeg-turbo with a setjmp error manager.
#include "runtime/data/jpeg.h"

#include <jpeglib.h>

#include <csetjmp>
#include <cstdio>
#include <cstdlib>

namespace tigerfg::data {
namespace {

// Larger images are refused before any allocation: a corrupt header must not exhaust memory.
constexpr int64_t kMaxPixels = int64_t{1} << 26;

struct ErrorManager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  int warnings;
};

void OnError(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void OnMessage(j_common_ptr cinfo, int level) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  if (level < 0 && err->warnings++ == 0) (*cinfo->err->format_message)(cinfo, err->message);
}

void InitErrors(ErrorManager* err) {
  jpeg_std_error(&err->base);
  err->base.error_exit = OnError;
  err->base.emit_message = OnMessage;
  err->message[0] = '\0';
  err->warnings = 0;
}

}  // namespace

StatusOr<Image> DecodeJpeg(const uint8_t* data, size_t size, const std::string& what) {
  if (size == 0) return Status::Error(what + ": empty JPEG");
  // Declared before setjmp so a longjmp back skips no destructor.
  Image image;
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  InitErrors(&err);
  cinfo.err = &err.base;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return Status::Error(what + ": corrupt JPEG: " + err.message);
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  if (static_cast<int64_t>(cinfo.image_width) * cinfo.image_height > kMaxPixels) {
    jpeg_destroy_decompress(&cinfo);
    return Status::Error(what + ": JPEG of " + std::to_string(cinfo.image_width) + "x" +
                         std::to_string(cinfo.image_height) + " pixels is too large");
  }
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK) {
    jpeg_destroy_decompress(&cinfo);
    return Status::Error(what + ": CMYK JPEG is not supported");
  }
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&cinfo);
  image = Image(cinfo.output_height, cinfo.output_width, 3);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = image.at(cinfo.output_scanline, 0);
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  if (err.warnings > 0) return Status::Error(what + ": corrupt JPEG data: " + err.message);
  return image;
}

StatusOr<std::string> EncodeJpeg(const Image& image, int quality) {
  if (image.channels != 1 && image.channels != 3) {
    return Status::Error("EncodeJpeg: " + std::to_string(image.channels) + " channels");
  }
  if (image.empty()) return Status::Error("EncodeJpeg: empty image");
  jpeg_compress_struct cinfo;
  ErrorManager err;
  InitErrors(&err);
  cinfo.err = &err.base;
  unsigned char* out = nullptr;
  unsigned long out_size = 0;
  if (setjmp(err.jump)) {
    jpeg_destroy_compress(&cinfo);
    std::free(out);
    return Status::Error(std::string("EncodeJpeg: ") + err.message);
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, &out, &out_size);
  cinfo.image_width = image.width;
  cinfo.image_height = image.height;
  cinfo.input_components = image.channels;
  cinfo.in_color_space = image.channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(image.at(cinfo.next_scanline, 0));
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  std::string bytes(reinterpret_cast<char*>(out), out_size);
  std::free(out);
  return bytes;
}

}  // namespace tigerfg::data
